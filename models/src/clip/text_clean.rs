//! The text clean-up that CLIP's reference tokenizer does before BPE: `ftfy.fix_text`, HTML
//! unescaping twice, whitespace collapsing, lower-casing.
//!
//! `ftfy.fix_text` (6.x, default settings) is reproduced for text that is already valid Unicode:
//! HTML entities (only while no `<` has been seen, line by line, as ftfy decides), Latin
//! ligatures, fullwidth and halfwidth forms, curly quotes, line breaks, terminal escapes,
//! control characters and NFC, repeated until nothing changes. Not reproduced: ftfy's mojibake
//! repair (`fix_encoding`), which only changes text that was decoded with the wrong code page;
//! C1 controls are read as Windows-1252 as ftfy's `fix_c1_controls` does. Named HTML entities cover the common ones (Latin-1, typographic quotes and
//! dashes); other names are left as written. Numeric references follow Python's `html.unescape`.

use unicode_normalization::UnicodeNormalization;

/// Cleans `text` as CLIP's `whitespace_clean(basic_clean(text)).lower()` does.
pub fn clean_text(text: &str) -> String {
    let fixed = fix_text(text);
    let unescaped = html_unescape(&html_unescape(&fixed));
    let mut out = String::with_capacity(unescaped.len());
    for word in unescaped
        .split(char::is_whitespace)
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.to_lowercase()
}

/// ftfy's `fix_text` for valid Unicode: each line separately, entities only until a line has `<`.
pub fn fix_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut unescape = true;
    for segment in text.split_inclusive('\n') {
        if segment.contains('<') {
            unescape = false;
        }
        out.push_str(&fix_segment(segment, unescape));
    }
    out
}

/// ftfy's `fix_and_explain` loop on one segment: apply every fix until nothing changes.
fn fix_segment(segment: &str, unescape: bool) -> String {
    let mut text = segment.to_string();
    // Each round either changes nothing (and we stop) or shortens an entity; the cap is a guard.
    for _ in 0..64 {
        let mut next = if unescape {
            ftfy_unescape_html(&text)
        } else {
            text.clone()
        };
        // ftfy's `fix_c1_controls`: C1 controls are read as Windows-1252, before the other fixes.
        next = next
            .chars()
            .map(|c| match c {
                '\u{80}'..='\u{9F}' => CP1252[c as usize - 0x80],
                _ => c,
            })
            .collect();
        next = next
            .chars()
            .fold(String::with_capacity(next.len()), |mut s, c| {
                match fix_char(c) {
                    Fixed::Keep => s.push(c),
                    Fixed::Str(r) => s.push_str(r),
                    Fixed::Char(r) => s.push(r),
                    Fixed::Nfkc => s.extend(std::iter::once(c).nfkc()),
                }
                s
            });
        next = fix_line_breaks(&next);
        next = remove_terminal_escapes(&next);
        next.retain(|c| !is_removed_control(c));
        next = next.nfc().collect();
        if next == text {
            break;
        }
        text = next;
    }
    text
}

/// What one per-character fix does with a character.
enum Fixed {
    Keep,
    Str(&'static str),
    Char(char),
    Nfkc,
}

/// ftfy's `fix_latin_ligatures`, `fix_character_width` and `uncurl_quotes`, one character at a
/// time (they never interact).
fn fix_char(c: char) -> Fixed {
    match c {
        'Ĳ' => Fixed::Str("IJ"),
        'ĳ' => Fixed::Str("ij"),
        'ŉ' => Fixed::Str("ʼn"),
        'Ǳ' => Fixed::Str("DZ"),
        'ǲ' => Fixed::Str("Dz"),
        'ǳ' => Fixed::Str("dz"),
        'Ǆ' => Fixed::Str("DŽ"),
        'ǅ' => Fixed::Str("Dž"),
        'ǆ' => Fixed::Str("dž"),
        'Ǉ' => Fixed::Str("LJ"),
        'ǈ' => Fixed::Str("Lj"),
        'ǉ' => Fixed::Str("lj"),
        'Ǌ' => Fixed::Str("NJ"),
        'ǋ' => Fixed::Str("Nj"),
        'ǌ' => Fixed::Str("nj"),
        'ﬀ' => Fixed::Str("ff"),
        'ﬁ' => Fixed::Str("fi"),
        'ﬂ' => Fixed::Str("fl"),
        'ﬃ' => Fixed::Str("ffi"),
        'ﬄ' => Fixed::Str("ffl"),
        'ﬅ' => Fixed::Str("ſt"),
        'ﬆ' => Fixed::Str("st"),
        '\u{3000}' => Fixed::Char(' '),
        '\u{FF01}'..='\u{FFEF}' => Fixed::Nfkc,
        '\u{02BC}' | '\u{2018}'..='\u{201B}' => Fixed::Char('\''),
        '\u{201C}'..='\u{201F}' => Fixed::Char('"'),
        _ => Fixed::Keep,
    }
}

/// ftfy's `remove_control_chars` (run after the terminal escapes are gone, as ftfy does).
fn is_removed_control(c: char) -> bool {
    matches!(c, '\u{00}'..='\u{08}' | '\u{0B}' | '\u{0E}'..='\u{1F}' | '\u{7F}' | '\u{206A}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFC}')
}

/// ftfy's `fix_line_breaks`: CRLF, CR, U+2028, U+2029 and U+0085 become `\n`.
fn fix_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace(['\r', '\u{2028}', '\u{2029}', '\u{85}'], "\n")
}

/// ftfy's `remove_terminal_escapes`: drops `ESC [ (digits|;)* letter`.
fn remove_terminal_escapes(text: &str) -> String {
    if !text.contains("\u{1b}[") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\u{1b}[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let params = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(after.len());
        match after[params..].chars().next() {
            Some(c) if c.is_ascii_alphabetic() => rest = &after[params + 1..],
            _ => {
                out.push_str("\u{1b}[");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// ftfy's `unescape_html`: `&#?[0-9A-Za-z]{1,24};` that names an entity (also an all-uppercase
/// spelling of a lower-case entity, giving the upper-case character) or is a numeric reference
/// that Python's `html.unescape` decodes whole.
fn ftfy_unescape_html(text: &str) -> String {
    replace_entities(text, |body| {
        let hash = usize::from(body.starts_with('#'));
        let run = body[hash..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(body.len() - hash);
        if !(1..=24).contains(&run) || !body[hash + run..].starts_with(';') {
            return None;
        }
        let used = hash + run + 1;
        let name = &body[hash..hash + run];
        if hash == 1 {
            let unescaped = html_unescape(&format!("&{}", &body[..used]));
            return (!unescaped.contains(';')).then_some((unescaped, used));
        }
        if let Some(s) = named_entity(name) {
            return Some((s.to_string(), used));
        }
        let lower = name.to_ascii_lowercase();
        if name == name.to_ascii_uppercase()
            && let Some(s) = named_entity(&lower)
        {
            return Some((s.to_uppercase(), used));
        }
        None
    })
}

/// Python's `html.unescape`: named entities (with `;`, or without it for the legacy names),
/// and numeric references with an optional `;`.
pub fn html_unescape(text: &str) -> String {
    replace_entities(text, |body| {
        if let Some(num) = body.strip_prefix('#') {
            let (digits, hex) = match num.strip_prefix(['x', 'X']) {
                Some(h) => (h, true),
                None => (num, false),
            };
            let len = digits
                .find(|c: char| {
                    !(if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    })
                })
                .unwrap_or(digits.len());
            if len == 0 {
                return None;
            }
            let consumed = body.len() - digits.len() + len;
            let semi = usize::from(body[consumed..].starts_with(';'));
            let reference = format!("{}{}", if hex { "x" } else { "" }, &digits[..len]);
            return numeric_reference(&reference).map(|s| (s, consumed + semi));
        }
        // Python matches `[^\t\n\f <&#;]{1,32};?`.
        let run = body
            .find(['\t', '\n', '\x0c', ' ', '<', '&', '#', ';'])
            .unwrap_or(body.len());
        let end = body[..run].char_indices().nth(32).map_or(run, |(i, _)| i);
        let name = &body[..end];
        if name.is_empty() {
            return None;
        }
        if body[end..].starts_with(';')
            && let Some(s) = named_entity(name)
        {
            return Some((s.to_string(), end + 1));
        }
        // Legacy names without `;`: the longest prefix that is one.
        (1..=name.len())
            .rev()
            .filter(|&n| name.is_char_boundary(n))
            .find_map(|n| legacy_entity(&name[..n]).map(|s| (s.to_string(), n)))
    })
}

/// Replaces every `&…` whose body `decode` accepts; `decode` gets the text after `&` and
/// returns the replacement and how many bytes of the body it used.
fn replace_entities(text: &str, decode: impl Fn(&str) -> Option<(String, usize)>) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let body = &rest[amp + 1..];
        match decode(body) {
            Some((s, used)) => {
                out.push_str(&s);
                rest = &body[used..];
            }
            None => {
                out.push('&');
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Python's `html._replace_charref` for `#…` (`digits` or `x` + hex digits).
fn numeric_reference(reference: &str) -> Option<String> {
    let value = match reference.strip_prefix(['x', 'X']) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => reference.parse::<u64>(),
    };
    // Too many digits for u64 is certainly beyond U+10FFFF.
    let num = value.unwrap_or(u64::MAX);
    if let Some(c) = invalid_charref(num) {
        return Some(c.to_string());
    }
    if (0xD800..=0xDFFF).contains(&num) || num > 0x10FFFF {
        return Some('\u{FFFD}'.to_string());
    }
    let is_invalid_codepoint = matches!(num, 0x1..=0x8 | 0xB | 0xE..=0x1F | 0x7F..=0x9F | 0xFDD0..=0xFDEF)
        || (num & 0xFFFE) == 0xFFFE;
    if is_invalid_codepoint {
        return Some(String::new());
    }
    char::from_u32(num as u32).map(String::from)
}

/// Windows-1252 for 0x80..=0x9F; the five undefined bytes keep their own code point (ftfy's
/// "sloppy" codec and Python's `html` module agree on this).
const CP1252: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

/// Python's `html._invalid_charrefs`: NUL, CR and the Windows-1252 meaning of 0x80..0x9F.
fn invalid_charref(num: u64) -> Option<char> {
    match num {
        0x00 => Some('\u{FFFD}'),
        0x0D => Some('\r'),
        0x80..=0x9F => Some(CP1252[(num - 0x80) as usize]),
        _ => None,
    }
}

/// Latin-1 entity names for U+00A0..=U+00FF, in order. Python also accepts them without `;`.
const LATIN1_NAMES: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

/// Other entities Python also accepts without `;`.
const LEGACY_OTHER: [(&str, &str); 10] = [
    ("amp", "&"),
    ("AMP", "&"),
    ("lt", "<"),
    ("LT", "<"),
    ("gt", ">"),
    ("GT", ">"),
    ("quot", "\""),
    ("QUOT", "\""),
    ("COPY", "©"),
    ("REG", "®"),
];

/// Common entities that need their `;`.
const NAMED: [(&str, &str); 38] = [
    ("apos", "'"),
    ("hellip", "…"),
    ("mdash", "—"),
    ("ndash", "–"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("sbquo", "‚"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("bdquo", "„"),
    ("lsaquo", "‹"),
    ("rsaquo", "›"),
    ("prime", "′"),
    ("Prime", "″"),
    ("bull", "•"),
    ("dagger", "†"),
    ("Dagger", "‡"),
    ("permil", "‰"),
    ("trade", "™"),
    ("TRADE", "™"),
    ("euro", "€"),
    ("larr", "←"),
    ("rarr", "→"),
    ("uarr", "↑"),
    ("darr", "↓"),
    ("OElig", "Œ"),
    ("oelig", "œ"),
    ("Scaron", "Š"),
    ("scaron", "š"),
    ("Yuml", "Ÿ"),
    ("circ", "ˆ"),
    ("tilde", "˜"),
    ("ensp", "\u{2002}"),
    ("emsp", "\u{2003}"),
    ("thinsp", "\u{2009}"),
    ("zwnj", "\u{200C}"),
    ("zwj", "\u{200D}"),
    ("nbsp", "\u{A0}"),
];

/// An entity Python's `html.unescape` accepts without its `;`.
fn legacy_entity(name: &str) -> Option<&'static str> {
    const LATIN1: [&str; 96] = latin1_chars();
    LATIN1_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|i| LATIN1[i])
        .or_else(|| {
            LEGACY_OTHER
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| *s)
        })
}

/// An entity by name (without `&` and `;`), if it is one this module knows.
fn named_entity(name: &str) -> Option<&'static str> {
    legacy_entity(name).or_else(|| NAMED.iter().find(|(n, _)| *n == name).map(|(_, s)| *s))
}

/// U+00A0..=U+00FF as string slices, for [`LATIN1_NAMES`].
const fn latin1_chars() -> [&'static str; 96] {
    const ALL: &str = "\u{A0}¡¢£¤¥¦§¨©ª«¬\u{AD}®¯°±²³´µ¶·¸¹º»¼½¾¿ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ";
    let mut out = [""; 96];
    let mut i = 0;
    while i < 96 {
        // Every character here is two bytes in UTF-8.
        let (_, tail) = ALL.split_at(2 * i);
        let (c, _) = tail.split_at(2);
        out[i] = c;
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_table_starts_at_nbsp_and_ends_at_y_diaeresis() {
        assert_eq!(legacy_entity("nbsp"), Some("\u{A0}"));
        assert_eq!(legacy_entity("eacute"), Some("é"));
        assert_eq!(legacy_entity("yuml"), Some("ÿ"));
    }

    #[test]
    fn html_unescape_follows_python_for_numeric_and_legacy_references() {
        assert_eq!(html_unescape("&#233;&#xE9;&#x41"), "ééA");
        assert_eq!(html_unescape("&#128;&#0;&#1;"), "€\u{FFFD}");
        assert_eq!(
            html_unescape("&ampx &copy2023 &unknown; &"),
            "&x ©2023 &unknown; &"
        );
        assert_eq!(html_unescape("&amp;amp;"), "&amp;");
    }

    #[test]
    fn ftfy_unescapes_repeatedly_unless_a_line_has_a_tag() {
        assert_eq!(fix_text("&amp;amp;amp;"), "&");
        assert_eq!(fix_text("<b>&amp;amp;</b>"), "<b>&amp;amp;</b>");
        assert_eq!(fix_text("&EACUTE;"), "É");
    }

    #[test]
    fn ftfy_fixes_quotes_ligatures_width_and_controls() {
        assert_eq!(
            fix_text("don\u{2019}t \u{FB01} \u{FF21}\u{3000}x\u{7}\u{FEFF}"),
            "don't fi A x"
        );
        assert_eq!(fix_text("a\r\nb\u{2028}c"), "a\nb\nc");
        assert_eq!(fix_text("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(fix_text("cafe\u{301}"), "caf\u{e9}");
        assert_eq!(fix_text("\u{85}\u{93}x\u{94}\u{81}"), "\u{2026}\"x\"\u{81}");
    }

    #[test]
    fn clean_text_collapses_whitespace_and_lowercases() {
        assert_eq!(clean_text("  A\t B\u{A0}\n C  "), "a b c");
        assert_eq!(clean_text(""), "");
    }
}
