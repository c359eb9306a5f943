//! `fanseal-peers`: a bench-only crate that measures fanseal side by side
//! with age, hpke and vodozemac on the same message and device count. It has
//! no library code; see `benches/peers.rs` and BENCHMARKS.md at the root.
#![no_std]
#![forbid(unsafe_code)]
