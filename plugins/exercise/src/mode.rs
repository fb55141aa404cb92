//! How a set came about; the `mode` label of the exercise metrics.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Suggested on a prompt, done while Claude works.
    Quick,
    /// Suggested on Stop after a long stretch without a set.
    Break,
    /// Logged with `+N` without a matching suggestion.
    Manual,
    /// Reported by another tool through an `ExerciseCompleted` event.
    Tracker,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Quick, Mode::Break, Mode::Manual, Mode::Tracker];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Break => "break",
            Mode::Manual => "manual",
            Mode::Tracker => "tracker",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for mode in Mode::ALL {
            assert_eq!(Mode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(Mode::parse("Quick"), None);
    }
}
