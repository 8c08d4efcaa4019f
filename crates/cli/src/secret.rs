//! Passwords: from a flag or environment variable, else typed at a prompt that does not echo.

use anyhow::{Context, Result, bail};
use std::io::IsTerminal;

/// Where a password may come from besides the prompt, for the error message.
pub struct Source {
    /// The flag, e.g. `--password`.
    pub flag: &'static str,
    /// The environment variable, e.g. `FLOTILLA_PASSWORD`.
    pub env: &'static str,
}

/// `given` when set, else the password typed at `prompt` (twice when `confirm`). Refuses to prompt
/// when stdin is not a terminal, naming the flag and the variable to use instead.
pub fn obtain(given: Option<String>, source: &Source, prompt: &str, confirm: bool) -> Result<String> {
    if let Some(password) = given {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no password given: pass {} or set {} (stdin is not a terminal, so there is no prompt)", source.flag, source.env);
    }
    let password = rpassword::prompt_password(prompt).context("cannot read the password")?;
    if confirm {
        let again = rpassword::prompt_password("Repeat it: ").context("cannot read the password")?;
        if again != password {
            bail!("the two passwords differ");
        }
    }
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}
