//! Reading a SKU out of a file stem with a pattern such as `{sku}_{view}`.

/// A pattern of literal text and `{name}` placeholders; `{sku}` is the part kept.
#[derive(Debug, Clone)]
pub struct SkuPattern {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(String),
    Sku,
    Any,
}

impl SkuPattern {
    pub fn parse(pattern: &str) -> Self {
        let mut tokens = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            match (rest.find('{'), rest.find('}')) {
                (Some(0), Some(close)) => {
                    tokens.push(if &rest[1..close] == "sku" {
                        Token::Sku
                    } else {
                        Token::Any
                    });
                    rest = &rest[close + 1..];
                }
                (Some(open), _) if open > 0 => {
                    tokens.push(Token::Literal(rest[..open].to_string()));
                    rest = &rest[open..];
                }
                _ => {
                    tokens.push(Token::Literal(rest.to_string()));
                    rest = "";
                }
            }
        }
        Self { tokens }
    }

    /// The SKU in `stem`, or the whole stem when the pattern does not match.
    pub fn sku_of<'a>(&self, stem: &'a str) -> &'a str {
        self.matched(stem).unwrap_or(stem)
    }

    /// The SKU in `stem`, if the pattern matches it.
    pub fn matched<'a>(&self, stem: &'a str) -> Option<&'a str> {
        match matches(&self.tokens, stem, 0, None) {
            Some((start, end)) if end > start => Some(&stem[start..end]),
            _ => None,
        }
    }
}

/// Placeholders match the shortest run that lets the rest match, and never an empty one.
fn matches(
    tokens: &[Token],
    s: &str,
    pos: usize,
    sku: Option<(usize, usize)>,
) -> Option<(usize, usize)> {
    let Some((first, rest)) = tokens.split_first() else {
        return if pos == s.len() { sku } else { None };
    };
    match first {
        Token::Literal(lit) => s[pos..]
            .starts_with(lit.as_str())
            .then_some(())
            .and_then(|()| matches(rest, s, pos + lit.len(), sku)),
        Token::Sku | Token::Any => s[pos..]
            .char_indices()
            .skip(1)
            .map(|(i, _)| pos + i)
            .chain(std::iter::once(s.len()))
            .filter(|&end| end > pos)
            .find_map(|end| {
                let sku = if *first == Token::Sku {
                    Some((pos, end))
                } else {
                    sku
                };
                matches(rest, s, end, sku)
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_is_read_from_the_stem_by_pattern() {
        let cases = [
            ("{sku}_{rest}", "SKU123_front", "SKU123"),
            ("{sku}_{rest}", "SKU123_front_2", "SKU123"),
            ("{sku}_{rest}", "SKU123", "SKU123"),
            ("{sku}_{rest}", "_front", "_front"),
            ("{sku}-{view}", "AB-12-back", "AB"),
            ("img {sku}", "img 4711", "4711"),
            ("img {sku}", "photo 4711", "photo 4711"),
            ("{sku}", "Ünïcödé photo", "Ünïcödé photo"),
            ("{view}_{sku}", "front_ÄB9", "ÄB9"),
        ];
        for (pattern, stem, want) in cases {
            assert_eq!(
                SkuPattern::parse(pattern).sku_of(stem),
                want,
                "{pattern} on {stem}"
            );
        }
    }
}
