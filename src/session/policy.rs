//! When an outbound session must be replaced (SPEC.md §15.6).

use crate::consts::session as s;

/// How long one outbound session may be used: at most `max_messages`
/// messages and `max_age_ms` milliseconds after its creation. Defaults:
/// 100 messages, 7 days (Megolm's). Bounds: `1..=1000` messages (≤
/// [`crate::session_limit::MAX_SKIP`], so an honest session never needs more skipping
/// than receivers allow), `1..=30` days.
///
/// # Example
/// ```
/// # use fanseal::*;
/// let p = RotationPolicy { max_messages: 50, ..RotationPolicy::DEFAULT };
/// assert!(p.is_valid());
/// assert!(!RotationPolicy { max_messages: 0, ..p }.is_valid());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Messages one session encrypts, at most (`1..=1000`; default 100).
    pub max_messages: u32,
    /// Age in ms after which the session encrypts no more (`1..=30` days;
    /// default 7 days).
    pub max_age_ms: u64,
}

impl RotationPolicy {
    /// 100 messages, 7 days.
    pub const DEFAULT: RotationPolicy = RotationPolicy {
        max_messages: s::DEFAULT_MAX_MESSAGES,
        max_age_ms: s::DEFAULT_MAX_AGE_MS,
    };

    /// True when both fields are within their bounds.
    pub fn is_valid(&self) -> bool {
        (1..=s::MAX_MESSAGES).contains(&self.max_messages)
            && (1..=s::MAX_AGE_MS).contains(&self.max_age_ms)
    }
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}
