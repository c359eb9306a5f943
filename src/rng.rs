//! An operating-system RNG for callers (feature `getrandom`, off by default).
//!
//! fanseal draws randomness only from the RNG its caller passes in (it does
//! no I/O). `rand_core` 0.10 has no `OsRng`; the operating system's RNG is
//! `getrandom::SysRng`, whose calls can fail, wrapped in
//! `rand_core::UnwrapErr` to make the infallible `CryptoRng` that
//! fanseal's functions take. With the feature on, [`os_rng`] returns exactly
//! that; without it, an application writes the same one line with its own
//! `getrandom = { version = "0.4", features = ["sys_rng"] }` dependency.

/// The operating system's RNG as a `rand_core::CryptoRng`.
pub type OsRng = rand_core::UnwrapErr<getrandom::SysRng>;

/// The operating system's RNG (`getrandom`), for [`crate::seal`],
/// [`crate::DeviceKeyring::rotate_prekey`] and every other call that takes
/// an RNG.
///
/// # Panics
/// When the operating system cannot provide randomness (a `getrandom`
/// error): nothing secure can continue without it. Callers that must handle
/// that case call `getrandom::SysRng` through `rand_core::TryRng`
/// themselves.
///
/// # Example
/// ```
/// let mut rng = fanseal::os_rng();
/// let device = fanseal::DeviceSecret::generate(&mut rng);
/// # let _ = device;
/// ```
pub fn os_rng() -> OsRng {
    rand_core::UnwrapErr(getrandom::SysRng)
}
