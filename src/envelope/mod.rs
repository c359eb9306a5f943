//! The fan-out envelope (wire v2): one body encrypted once, the message secret
//! wrapped per device with RFC 9180 DHKEM, sealed sender (SPEC.md §4–5).

pub(crate) mod header;
pub(crate) mod hpke;
pub(crate) mod hpke_xwing;
pub(crate) mod open;
mod padding;
mod relay;
pub(crate) mod schedule;
pub(crate) mod seal;
pub(crate) mod wire;

pub use header::{Header, MessageId};
pub use open::{open, DeviceListLookup, Opened};
pub use padding::{padme, Padding};
pub use relay::{DeliveryParts, RelaySplit};
pub use seal::{seal, Message, SuitePolicy};
pub use wire::{Delivery, Envelope};
