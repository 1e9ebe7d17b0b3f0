//! Resolving a redirect's `Location` against the target of the request redirected (RFC 9110,
//! section 10.2.2: a URI reference, relative ones resolved as RFC 3986, section 5.2, says).

/// A `Location` resolved against a request target.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Resolved<'a> {
    /// The scheme, if the reference named one other than by `http:` alone.
    pub(crate) scheme: Option<&'a str>,
    /// The authority (`host[:port]`), if the reference named one (`http://host/…` or a
    /// network-path reference, `//host/…`).
    pub(crate) authority: Option<&'a str>,
    /// The request target it leads to: path (never empty) and query, without the fragment.
    pub(crate) target: String,
}

/// Resolves `reference` (a `Location` value) against `base`, the request target (`/path?query`)
/// of the request that was redirected: `next` from `/a/b` is `/a/next`, `../x` from `/a/b/c` is
/// `/a/x`, `?q` keeps the path, and dot segments are removed (RFC 3986, section 5.2). An
/// `http:` reference without an authority (`http:g`) is read as a relative one, as RFC 3986
/// section 5.2.2 allows for backward compatibility.
pub(crate) fn resolve<'a>(base: &str, reference: &'a str) -> Resolved<'a> {
    // The fragment is the client's own: never sent, and no part of the resolution here.
    let reference = reference.split('#').next().unwrap_or_default();
    let (mut scheme, rest) = split_scheme(reference);
    if scheme.is_some_and(|s| s.eq_ignore_ascii_case("http")) && !rest.starts_with("//") {
        scheme = None;
    }
    let (authority, rest) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?']).unwrap_or(after.len());
            (Some(&after[..end]), &after[end..])
        }
        None => (None, rest),
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let (base_path, base_query) = match base.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (base, None),
    };
    // A base that is not a path from the root (`*`, a proxy's absolute form) resolves as `/`.
    let base_path = if base_path.starts_with('/') {
        base_path
    } else {
        "/"
    };
    let mut target = if authority.is_some() || scheme.is_some() || path.starts_with('/') {
        remove_dot_segments(path)
    } else if path.is_empty() {
        base_path.to_owned()
    } else {
        // Merge (RFC 3986, section 5.2.3): the base path up to its last `/`, then the path.
        let directory = &base_path[..=base_path.rfind('/').unwrap_or(0)];
        remove_dot_segments(&format!("{directory}{path}"))
    };
    if target.is_empty() {
        target.push('/');
    }
    let query = match (
        query,
        path.is_empty() && authority.is_none() && scheme.is_none(),
    ) {
        (Some(query), _) => Some(query),
        (None, true) => base_query,
        (None, false) => None,
    };
    if let Some(query) = query {
        target.push('?');
        target.push_str(query);
    }
    Resolved {
        scheme,
        authority,
        target,
    }
}

/// Splits `scheme:` off a reference: the scheme (letters, digits, `+`, `-`, `.`, starting with
/// a letter, before any `/`, `?` or `#`) and the rest, or `None` and the reference.
fn split_scheme(reference: &str) -> (Option<&str>, &str) {
    let Some(colon) = reference.find([':', '/', '?', '#']) else {
        return (None, reference);
    };
    let scheme = &reference[..colon];
    let is_scheme = reference[colon..].starts_with(':')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if is_scheme {
        (Some(scheme), &reference[colon + 1..])
    } else {
        (None, reference)
    }
}

/// Removes the `.` and `..` segments from a path (RFC 3986, section 5.2.4).
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output = String::with_capacity(path.len());
    while !input.is_empty() {
        if let Some(rest) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/" } else { &input[3..] };
            output.truncate(output.rfind('/').unwrap_or(0));
        } else if input == "." || input == ".." {
            input = "";
        } else {
            // The first segment, with its leading `/` if it has one (found by bytes: a
            // server's path may start with a character of several).
            let end = input
                .bytes()
                .skip(1)
                .position(|b| b == b'/')
                .map_or(input.len(), |at| at + 1);
            output.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::{Resolved, remove_dot_segments, resolve};

    /// RFC 3986's base URI for its examples, `http://a/b/c/d;p?q`, as a request target.
    const BASE: &str = "/b/c/d;p?q";

    /// The examples of RFC 3986, section 5.4.1 (normal) and 5.4.2 (abnormal), whose result is
    /// on the base's host: the reference and the target it resolves to.
    const ON_THIS_HOST: &[(&str, &str)] = &[
        ("g", "/b/c/g"),
        ("./g", "/b/c/g"),
        ("g/", "/b/c/g/"),
        ("/g", "/g"),
        ("?y", "/b/c/d;p?y"),
        ("g?y", "/b/c/g?y"),
        ("#s", "/b/c/d;p?q"),
        ("g#s", "/b/c/g"),
        ("g?y#s", "/b/c/g?y"),
        (";x", "/b/c/;x"),
        ("g;x", "/b/c/g;x"),
        ("g;x?y#s", "/b/c/g;x?y"),
        ("", "/b/c/d;p?q"),
        (".", "/b/c/"),
        ("./", "/b/c/"),
        ("..", "/b/"),
        ("../", "/b/"),
        ("../g", "/b/g"),
        ("../..", "/"),
        ("../../", "/"),
        ("../../g", "/g"),
        ("../../../g", "/g"),
        ("../../../../g", "/g"),
        ("/./g", "/g"),
        ("/../g", "/g"),
        ("g.", "/b/c/g."),
        (".g", "/b/c/.g"),
        ("g..", "/b/c/g.."),
        ("..g", "/b/c/..g"),
        ("./../g", "/b/g"),
        ("./g/.", "/b/c/g/"),
        ("g/./h", "/b/c/g/h"),
        ("g/../h", "/b/c/h"),
        ("g;x=1/./y", "/b/c/g;x=1/y"),
        ("g;x=1/../y", "/b/c/y"),
        ("g?y/./x", "/b/c/g?y/./x"),
        ("g?y/../x", "/b/c/g?y/../x"),
        ("g#s/./x", "/b/c/g"),
        ("g#s/../x", "/b/c/g"),
        // The backward-compatible reading of section 5.4.2 (strict parsers keep `http:g`).
        ("http:g", "/b/c/g"),
    ];

    #[test]
    fn rfc_3986_examples_on_the_same_host() {
        for &(reference, target) in ON_THIS_HOST {
            let resolved = resolve(BASE, reference);
            assert_eq!(
                resolved,
                Resolved {
                    scheme: None,
                    authority: None,
                    target: target.to_owned()
                },
                "{reference:?}"
            );
        }
    }

    #[test]
    fn rfc_3986_examples_elsewhere_name_their_scheme_or_host() {
        let network_path = resolve(BASE, "//g");
        assert_eq!(
            (network_path.scheme, network_path.authority),
            (None, Some("g"))
        );
        assert_eq!(network_path.target, "/");
        let other_scheme = resolve(BASE, "g:h");
        assert_eq!(
            (other_scheme.scheme, other_scheme.authority),
            (Some("g"), None)
        );
        let absolute = resolve(BASE, "HTTP://a:8080/x/../y?z#f");
        assert_eq!(
            absolute,
            Resolved {
                scheme: Some("HTTP"),
                authority: Some("a:8080"),
                target: "/y?z".to_owned()
            }
        );
        let secure = resolve(BASE, "https://a");
        assert_eq!(
            (secure.scheme, secure.target.as_str()),
            (Some("https"), "/")
        );
    }

    #[test]
    fn a_relative_location_from_the_root_and_from_a_directory() {
        assert_eq!(resolve("/a/b", "next").target, "/a/next");
        assert_eq!(resolve("/a/b/", "next").target, "/a/b/next");
        assert_eq!(resolve("/", "next?x=1").target, "/next?x=1");
        assert_eq!(
            resolve("/login?from=home", "?step=2").target,
            "/login?step=2"
        );
        assert_eq!(resolve("*", "next").target, "/next");
        assert_eq!(resolve("/a/b", "./c:d").target, "/a/c:d");
    }

    #[test]
    fn dot_segments_are_removed_as_rfc_3986_section_5_2_4_shows() {
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
        assert_eq!(remove_dot_segments("/.."), "/");
        assert_eq!(remove_dot_segments(""), "");
        assert_eq!(remove_dot_segments("é/./ü/../x"), "é/x");
    }
}
