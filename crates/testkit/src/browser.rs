//! A browser for the dashboard's tests, without a cookie jar: redirects are looked at, not
//! followed, and the session cookie and a page's CSRF token are read by hand.

use reqwest::header::{LOCATION, SET_COOKIE};

/// A client that does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The `flotilla_ui=...` pair of a Set-Cookie answer, and the whole header.
pub fn session_cookie(response: &reqwest::Response) -> (String, String) {
    let header = response.headers().get(SET_COOKIE).expect("a session cookie").to_str().unwrap().to_owned();
    let pair = header.split(';').next().unwrap().to_owned();
    assert!(pair.starts_with("flotilla_ui=flt_"), "{header}");
    (pair, header)
}

/// Where a redirect sends the browser.
pub fn location(response: &reqwest::Response) -> &str {
    response.headers().get(LOCATION).expect("a redirect").to_str().unwrap()
}

/// The CSRF token of a signed-in page's forms.
pub fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}
