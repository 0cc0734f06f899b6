//! Presigned URLs are bearer credentials until they expire: their query strings carry the
//! signature, the key id and, with temporary keys, the session token. Text that may hold one
//! (an HTTP client's error names the URL it failed on) is passed through here before it
//! reaches a job's error, a log or a support bundle.

/// What stands where a signing parameter's value was.
const REMOVED: &str = "[secret removed]";

/// The query parameters that sign a request or name who signed it.
const SIGNING_PARAMETERS: [&str; 3] = [
    "x-amz-signature=",
    "x-amz-credential=",
    "x-amz-security-token=",
];

/// Where a URL or a parameter's value ends in running text.
fn ends_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')' | '`' | '\\')
}

/// `text` with every `http://` or `https://` URL's query string and fragment cut off, and the
/// value of any `X-Amz-Signature`, `X-Amz-Credential` or `X-Amz-Security-Token` parameter
/// removed wherever it stands (a URL cut short by a quote or a bracket, a bare query).
pub fn without_signatures(text: &str) -> String {
    strip_signing_values(&strip_queries(text))
}

fn strip_queries(text: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` hold in `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(start) = ["http://", "https://"]
        .iter()
        .filter_map(|scheme| lower[at..].find(scheme))
        .min()
        .map(|n| n + at)
    {
        let end = text[start..]
            .find(ends_value)
            .map_or(text.len(), |n| n + start);
        let url = &text[start..end];
        out.push_str(&text[at..start]);
        out.push_str(&url[..url.find(['?', '#']).unwrap_or(url.len())]);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

fn strip_signing_values(text: &str) -> String {
    let mut out = text.to_string();
    for name in SIGNING_PARAMETERS {
        let mut from = 0;
        while let Some(found) = out.to_ascii_lowercase()[from..].find(name) {
            let value = from + found + name.len();
            let end = out[value..]
                .find(|c: char| c == '&' || ends_value(c))
                .map_or(out.len(), |n| n + value);
            out.replace_range(value..end, REMOVED);
            from = value + REMOVED.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_lose_their_query_and_signing_values_are_removed_anywhere() {
        let signed = "https://s3.example.com/bucket/products/SKU1/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256\
                      &X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
                      &X-Amz-Security-Token=FwoGZXIvYXdzEJr%2B%2F&X-Amz-Signature=0123abcdef";
        let cases = [
            (
                format!("error sending request for url ({signed}): connection refused"),
                "error sending request for url (https://s3.example.com/bucket/products/SKU1/a.jpg): connection refused"
                    .to_string(),
            ),
            (
                format!("GET {signed} 500"),
                "GET https://s3.example.com/bucket/products/SKU1/a.jpg 500".to_string(),
            ),
            (
                "HTTP://Host:9000/b/k?x-amz-signature=ff#frag end".to_string(),
                "HTTP://Host:9000/b/k end".to_string(),
            ),
            (
                "query: X-Amz-Signature=abc123&X-Amz-Date=20260101T000000Z".to_string(),
                "query: X-Amz-Signature=[secret removed]&X-Amz-Date=20260101T000000Z".to_string(),
            ),
            (
                "\"x-amz-credential=AKIA/x\" and X-Amz-Security-Token=tok".to_string(),
                "\"x-amz-credential=[secret removed]\" and X-Amz-Security-Token=[secret removed]"
                    .to_string(),
            ),
            (
                "http://127.0.0.1:8080/v1/health is fine".to_string(),
                "http://127.0.0.1:8080/v1/health is fine".to_string(),
            ),
            ("no url here".to_string(), "no url here".to_string()),
        ];
        for (text, clean) in cases {
            assert_eq!(without_signatures(&text), clean, "{text}");
        }
    }
}
