//! What a server backend's conformance instantiation needs to find its server and make a
//! scratch database: the URL from an environment variable, the URL safe to print, a fresh name.

use std::time::{SystemTime, UNIX_EPOCH};

/// The server URL from the environment variable `var`, or `default` when it is unset or blank.
pub fn server_url(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// The URL without its password, for messages.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparseable URL>".into();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// A name for a scratch database, `yara_conf_<pid>_<time>`: unique across concurrent runs.
pub fn scratch_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("yara_conf_{:x}_{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_hides_only_the_password() {
        assert_eq!(redacted("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redacted("mysql://root@h/db"), "mysql://root@h/db");
        assert_eq!(redacted("no scheme"), "<unparseable URL>");
    }

    #[test]
    fn scratch_names_differ() {
        let a = scratch_name();
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert!(a.starts_with("yara_conf_"));
        assert_ne!(a, scratch_name());
    }
}
