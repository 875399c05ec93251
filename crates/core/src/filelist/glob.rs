//! Glob patterns on recorded paths (`backup find`): `*` matches within a
//! path component, `**` across components, `?` one byte other than `/`,
//! `[abc]`, `[a-z]` and `[!a]` one byte of a set. A pattern without `/`
//! matches a path's last component (as `find -name`); with one, the whole
//! path relative to the dataset's root (a leading `/` is ignored).

/// True if `path` (relative to the dataset's root) matches `pattern`.
pub fn path_matches(pattern: &[u8], path: &[u8]) -> bool {
    if pattern.contains(&b'/') {
        let p = pattern.strip_prefix(b"/").unwrap_or(pattern);
        glob(p, path)
    } else {
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        glob(pattern, name)
    }
}

/// Matches `text` against the whole of `pattern`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            if let Some(rest) = rest.strip_prefix(b"*") {
                // `**/` also matches no component at all.
                let rest_no_slash = rest.strip_prefix(b"/");
                (0..=text.len()).any(|i| glob(rest, &text[i..]))
                    || rest_no_slash.is_some_and(|r| glob(r, text))
            } else {
                let stop = text.iter().position(|&b| b == b'/').unwrap_or(text.len());
                (0..=stop).any(|i| glob(rest, &text[i..]))
            }
        }
        Some((b'?', rest)) => text
            .split_first()
            .is_some_and(|(&c, t)| c != b'/' && glob(rest, t)),
        Some((b'[', rest)) => match (class(rest), text.split_first()) {
            (Some((matches, after)), Some((&c, t))) => c != b'/' && matches(c) && glob(after, t),
            // An unclosed `[` is a literal.
            (None, Some((&c, t))) => c == b'[' && glob(rest, t),
            (_, None) => false,
        },
        Some((&p, rest)) => text
            .split_first()
            .is_some_and(|(&c, t)| c == p && glob(rest, t)),
    }
}

/// A `[...]` set after its `[`: a matcher and what follows the `]`.
fn class(p: &[u8]) -> Option<(impl Fn(u8) -> bool + '_, &[u8])> {
    let (negated, body) = match p.first() {
        Some(b'!' | b'^') => (true, &p[1..]),
        _ => (false, p),
    };
    // A `]` first is a member.
    let end = body.iter().skip(1).position(|&b| b == b']')? + 1;
    let set = &body[..end];
    let matches = move |c: u8| {
        let mut i = 0;
        let mut hit = false;
        while i < set.len() {
            if i + 2 < set.len() && set[i + 1] == b'-' {
                hit |= (set[i]..=set[i + 2]).contains(&c);
                i += 3;
            } else {
                hit |= set[i] == c;
                i += 1;
            }
        }
        hit != negated
    };
    Some((matches, &body[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    fn m(p: &str, path: &str) -> bool {
        path_matches(p.as_bytes(), path.as_bytes())
    }

    #[test]
    fn names_paths_stars_and_sets() {
        assert!(m("nginx.conf", "etc/nginx/nginx.conf"));
        assert!(m("*.conf", "etc/nginx/nginx.conf"));
        assert!(!m("*.conf", "etc/nginx/nginx.conf.bak"));
        assert!(m("etc/*/nginx.conf", "etc/nginx/nginx.conf"));
        assert!(m("/etc/*/nginx.conf", "etc/nginx/nginx.conf"));
        assert!(
            !m("etc/*", "etc/nginx/nginx.conf"),
            "* stays in a component"
        );
        assert!(m("etc/**", "etc/nginx/nginx.conf"));
        assert!(m("**/nginx.conf", "nginx.conf"));
        assert!(m("**/nginx.conf", "etc/nginx/nginx.conf"));
        assert!(m("etc/**/*.conf", "etc/a/b/c.conf"));
        assert!(m("etc/**/*.conf", "etc/c.conf"));
        assert!(m("mail?.db", "var/mail1.db"));
        assert!(!m("mail?.db", "var/mail.db"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[!a-c]x", "dx"));
        assert!(m("[]]", "]"));
        assert!(m("a[b", "a[b"), "an unclosed set is literal");
        assert!(!m("", "x"));
    }
}
