//! Auth0's log event types: the short codes tenant logs carry in `type` (`s`, `feccft`, ...).

use std::fmt;

macro_rules! log_types {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, )*) => {
        /// The event types gatehouse writes, named; the wire form is Auth0's code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum LogType {
            $( $(#[$doc])* $variant, )*
        }

        impl LogType {
            /// Every type gatehouse writes.
            pub const ALL: &'static [LogType] = &[$( LogType::$variant, )*];

            /// Auth0's code.
            pub fn code(self) -> &'static str {
                match self {
                    $( LogType::$variant => $code, )*
                }
            }

            /// The type for Auth0's `code`, if gatehouse writes it.
            pub fn parse(code: &str) -> Option<Self> {
                match code {
                    $( $code => Some(LogType::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

log_types! {
    /// Successful login.
    SuccessLogin = "s",
    /// Failed login (a blocked account, too many attempts, other).
    FailedLogin = "f",
    /// Failed login: no such user.
    FailedLoginUnknownUser = "fu",
    /// Failed login: wrong password.
    FailedLoginWrongPassword = "fp",
    /// Successful signup.
    SuccessSignup = "ss",
    /// Failed signup.
    FailedSignup = "fs",
    /// Email verified.
    SuccessVerificationEmail = "sv",
    /// Email verification failed.
    FailedVerificationEmail = "fv",
    /// Password changed.
    SuccessChangePassword = "scp",
    /// Password change failed.
    FailedChangePassword = "fcp",
    /// Password reset requested.
    SuccessChangePasswordRequest = "scpr",
    /// Password reset request failed.
    FailedChangePasswordRequest = "fcpr",
    /// Logout.
    SuccessLogout = "slo",
    /// A refresh token revoked.
    SuccessRevocation = "srrt",
    /// A rotated refresh token reused: the family is revoked.
    FailedRefreshTokenReuse = "ferrt",
    /// Refresh token exchanged for an access token.
    SuccessExchangeRefreshToken = "sertft",
    /// Refresh token exchange failed.
    FailedExchangeRefreshToken = "fertft",
    /// Authorization code exchanged for an access token.
    SuccessExchangeAuthorizationCode = "seacft",
    /// Authorization code exchange failed.
    FailedExchangeAuthorizationCode = "feacft",
    /// Client credentials exchanged for an access token.
    SuccessExchangeClientCredentials = "seccft",
    /// Client credentials exchange failed.
    FailedExchangeClientCredentials = "feccft",
    /// Password exchanged for an access token.
    SuccessExchangePassword = "sepft",
    /// Password exchange failed.
    FailedExchangePassword = "fepft",
    /// Passwordless one-time code exchange failed.
    FailedExchangePasswordlessOtp = "fepotpft",
    /// A passwordless code sent.
    CodeSent = "cs",
    /// A passwordless code or link sent.
    CodeLinkSent = "cls",
    /// A Management API write succeeded.
    SuccessApiOperation = "sapi",
    /// A Management API write failed.
    FailedApiOperation = "fapi",
    /// An account blocked after too many failed attempts.
    BlockedAccount = "limit_wc",
    /// A brute-force block released by the user.
    UserBlockReleased = "ublkdu",
    /// A notification (email, text message) could not be delivered.
    FailedNotification = "fn",
    /// Cross-origin authentication (`/co/authenticate`) succeeded.
    SuccessCrossOriginAuthentication = "scoa",
    /// Cross-origin authentication failed.
    FailedCrossOriginAuthentication = "fcoa",
}

impl LogType {
    /// Whether the event records a failure (Auth0's failure codes start with `f`; a blocked
    /// account is one too).
    pub fn is_failure(self) -> bool {
        self.code().starts_with('f') || self == LogType::BlockedAccount
    }

    /// For an event that ends a person's attempt to log in, whether it succeeded: at Universal
    /// Login (`s`/`f`...) or with a password or one-time code at the token endpoint.
    pub fn login_outcome(self) -> Option<bool> {
        match self {
            LogType::SuccessLogin | LogType::SuccessExchangePassword => Some(true),
            LogType::FailedLogin
            | LogType::FailedLoginUnknownUser
            | LogType::FailedLoginWrongPassword
            | LogType::FailedExchangePassword
            | LogType::FailedExchangePasswordlessOtp => Some(false),
            _ => None,
        }
    }
}

/// What the daily counts (`/stats/daily`, the dashboard's charts) count: Universal Login's
/// successful logins and sign-ups, and the failed logins and sign-ups.
pub const DAILY_TYPES: crate::store::DailyTypes<'static> = crate::store::DailyTypes {
    login: "s",
    signup: "ss",
    failures: &["f", "fu", "fp", "fs"],
};

impl fmt::Display for LogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for LogType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_types_are_the_named_codes() {
        assert_eq!(DAILY_TYPES.login, LogType::SuccessLogin.code());
        assert_eq!(DAILY_TYPES.signup, LogType::SuccessSignup.code());
        let failures = [
            LogType::FailedLogin,
            LogType::FailedLoginUnknownUser,
            LogType::FailedLoginWrongPassword,
            LogType::FailedSignup,
        ];
        assert_eq!(DAILY_TYPES.failures, failures.map(LogType::code));
    }

    #[test]
    fn codes_are_distinct_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for t in LogType::ALL {
            assert!(seen.insert(t.code()), "{} twice", t.code());
            assert_eq!(LogType::parse(t.code()), Some(*t));
        }
        assert_eq!(LogType::parse("nope"), None);
        assert!(LogType::FailedExchangeClientCredentials.is_failure());
        assert!(LogType::BlockedAccount.is_failure());
        assert!(!LogType::SuccessSignup.is_failure());
        assert_eq!(LogType::SuccessLogin.login_outcome(), Some(true));
        assert_eq!(LogType::FailedExchangePassword.login_outcome(), Some(false));
        assert_eq!(LogType::SuccessExchangeRefreshToken.login_outcome(), None);
        assert_eq!(
            LogType::SuccessExchangeClientCredentials.to_string(),
            "seccft"
        );
    }
}
