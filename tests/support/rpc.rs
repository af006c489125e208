//! Raw calls to a running coordinator as any certificate holder, for tests that send what a
//! well-behaved node would not (an old epoch, another node's repo).
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use protocol::{Body, Envelope, Epoch};

use super::Certs;

/// Call `target` at `addr` as the holder of `name`'s certificate, under `epoch`; the reply body.
pub fn call_as(
    certs: &Certs,
    name: &str,
    addr: &str,
    target: &str,
    body: Body,
    epoch: Option<u64>,
) -> Body {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let identity = actors::net::Identity::load(certs.path(), name).unwrap();
        let endpoint =
            actors::net::Endpoint::bind(Default::default(), identity, actors::net::PingHandler)
                .unwrap();
        let deadline = actors::net::deadline_after(Duration::from_secs(5));
        let mut request = Envelope::request(target, deadline, body);
        request.epoch = epoch.map(Epoch);
        endpoint
            .request(addr.parse().unwrap(), request)
            .await
            .unwrap()
            .body
    })
}
