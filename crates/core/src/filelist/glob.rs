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

/// Matches `text` against the whole of `pattern`, remembering each
/// (pattern, text) suffix pair once decided: every `*` and `**` tries each
/// split, so without the memo `**/**/**/x` on a long path would take time
/// exponential in the stars; with it, at most pattern × text steps.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let mut memo = vec![None; (pattern.len() + 1) * (text.len() + 1)];
    Matcher {
        pattern,
        text,
        memo: &mut memo,
    }
    .at(0, 0)
}

struct Matcher<'a> {
    pattern: &'a [u8],
    text: &'a [u8],
    memo: &'a mut [Option<bool>],
}

impl Matcher<'_> {
    /// Whether `pattern[p..]` matches `text[t..]`.
    fn at(&mut self, p: usize, t: usize) -> bool {
        let key = p * (self.text.len() + 1) + t;
        if let Some(known) = self.memo[key] {
            return known;
        }
        let found = self.decide(p, t);
        self.memo[key] = Some(found);
        found
    }

    fn decide(&mut self, p: usize, t: usize) -> bool {
        let (pattern, text) = (self.pattern, self.text);
        let Some(&c) = pattern.get(p) else {
            return t == text.len();
        };
        let next = text.get(t).copied();
        match c {
            b'*' if pattern.get(p + 1) == Some(&b'*') => {
                // `**` crosses components; `**/` also matches none at all.
                let rest = p + 2;
                (t..=text.len()).any(|i| self.at(rest, i))
                    || (pattern.get(rest) == Some(&b'/') && self.at(rest + 1, t))
            }
            b'*' => {
                let stop = text[t..]
                    .iter()
                    .position(|&b| b == b'/')
                    .map_or(text.len(), |i| t + i);
                (t..=stop).any(|i| self.at(p + 1, i))
            }
            b'?' => next.is_some_and(|b| b != b'/') && self.at(p + 1, t + 1),
            b'[' => match (class(&pattern[p + 1..]), next) {
                (Some((matches, after)), Some(b)) => {
                    let after = pattern.len() - after.len();
                    b != b'/' && matches(b) && self.at(after, t + 1)
                }
                // An unclosed `[` is a literal.
                (None, Some(b)) => b == b'[' && self.at(p + 1, t + 1),
                (_, None) => false,
            },
            _ => next == Some(c) && self.at(p + 1, t + 1),
        }
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

    #[test]
    fn many_stars_on_a_long_path_take_no_time() {
        let path = "a/".repeat(200) + "b";
        let start = std::time::Instant::now();
        assert!(!m("**/**/**/**/**/**/c", &path));
        assert!(m("**/**/**/**/**/**/b", &path));
        assert!(!m("*a*a*a*a*a*a*a*a*c", &"a".repeat(300)));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}
