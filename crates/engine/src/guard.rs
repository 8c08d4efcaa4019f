//! Contains panics: a panic in one action or one cluster's evaluation becomes that one's error
//! (its message kept), so the task running every other action or cluster goes on.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

/// Runs `work`; a panic inside it comes back as `Err` with the panic's message.
pub(crate) async fn caught<T>(work: impl Future<Output = T>) -> Result<T, String> {
    futures::FutureExt::catch_unwind(AssertUnwindSafe(work)).await.map_err(|payload| message(&*payload))
}

/// The text a panic was raised with (`panic!("...")` carries a `&str` or a `String`).
fn message(payload: &(dyn Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(text), _) => format!("panicked: {text}"),
        (_, Some(text)) => format!("panicked: {text}"),
        _ => "panicked".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::caught;

    #[tokio::test]
    async fn a_panic_becomes_an_error_and_the_caller_goes_on() {
        let mut done = Vec::new();
        for i in 0..3 {
            let result = caught(async move {
                tokio::task::yield_now().await;
                assert_ne!(i, 1, "cluster {i} is broken");
                i
            })
            .await;
            done.push(result);
        }
        assert_eq!(done[0], Ok(0));
        assert!(done[1].as_ref().unwrap_err().contains("cluster 1 is broken"), "{:?}", done[1]);
        assert_eq!(done[2], Ok(2));
        let formatted: Result<(), String> = caught(async { panic!("{} overflow", "cooldown") }).await;
        assert_eq!(formatted, Err("panicked: cooldown overflow".to_owned()));
    }
}
