//! Cases for a companion under test: the runner plays the relay and the
//! primary. One file per chapter of the spec.

mod adapter;
mod cuts;
mod devices;
mod media;
mod pairing;
mod reconnect;
mod security;
mod session;
mod support;
mod sync;
mod transport;

use crate::endpoint::cases::EndpointCase;

/// Every companion case, in a fixed order.
pub(super) fn all() -> Vec<EndpointCase> {
    let mut cases = Vec::new();
    cases.extend(transport::cases());
    cases.extend(pairing::cases());
    cases.extend(reconnect::cases());
    cases.extend(session::cases());
    cases.extend(sync::cases());
    cases.extend(cuts::cases());
    cases.extend(media::cases());
    cases.extend(devices::cases());
    cases.extend(adapter::cases());
    cases.extend(security::cases());
    cases
}
