//! What every handler shares: the store, the region's name, the metrics.

use crate::http::metrics::Metrics;
use flotilla_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub region: String,
    pub metrics: Arc<Metrics>,
}

impl axum::extract::FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
