//! Tokens of the logical-flow language, shared by matches and actions.
//!
//! Numbers and addresses are lexed into one [`Constant`] token that remembers
//! how it was written (decimal, hex, IPv4, IPv6, Ethernet) and carries its
//! optional mask, because `10.0.0.0/8` is one operand, not three tokens:
//! `/` has no meaning of its own except as the start of a comment.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{Error, Result, Span};

/// How a constant was written; printing uses the same form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `1234`
    Decimal,
    /// `0x4d2`
    Hex,
    /// `10.0.0.1`
    Ipv4,
    /// `fd00::1`
    Ipv6,
    /// `00:00:5e:00:53:01`
    Ethernet,
}

impl Format {
    /// Width in bits of an address format, `None` for plain integers.
    pub fn address_width(self) -> Option<u32> {
        match self {
            Format::Decimal | Format::Hex => None,
            Format::Ipv4 => Some(32),
            Format::Ipv6 => Some(128),
            Format::Ethernet => Some(48),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Decimal => "decimal",
            Format::Hex => "hexadecimal",
            Format::Ipv4 => "IPv4",
            Format::Ipv6 => "IPv6",
            Format::Ethernet => "Ethernet",
        }
    }
}

/// The mask part of a masked constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mask {
    /// CIDR prefix length of an IPv4 or IPv6 address: `/24`.
    Prefix(u32),
    /// An explicit bit mask, written in the given form: `/255.255.0.0`, `/0xff00`.
    Bits(u128, Format),
}

/// An integer constant (up to 128 bits) with an optional mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Constant {
    /// The value, right-aligned.
    pub value: u128,
    /// How the value was written.
    pub format: Format,
    /// The mask, if any.
    pub mask: Option<Mask>,
}

impl Constant {
    /// An unmasked constant.
    pub fn new(value: u128, format: Format) -> Constant {
        Constant {
            value,
            format,
            mask: None,
        }
    }

    /// The mask as bits: all ones (within `u128`) when unmasked, the prefix
    /// expanded against the address width for CIDR masks.
    pub fn mask_bits(&self) -> u128 {
        match self.mask {
            None => u128::MAX,
            Some(Mask::Bits(m, _)) => m,
            Some(Mask::Prefix(p)) => {
                let w = self.format.address_width().unwrap_or(128);
                prefix_mask(p, w)
            }
        }
    }

    /// Number of bits the constant needs: the address width for addresses,
    /// otherwise the position of the highest 1-bit in value or mask.
    pub fn width(&self) -> u32 {
        if let Some(w) = self.format.address_width() {
            return w;
        }
        let sig = |v: u128| 128 - v.leading_zeros();
        match self.mask {
            Some(Mask::Bits(m, _)) => sig(self.value).max(sig(m)),
            _ => sig(self.value),
        }
    }
}

/// The `w`-bit mask with the top `prefix` bits set.
pub fn prefix_mask(prefix: u32, w: u32) -> u128 {
    let all = if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    };
    if prefix == 0 {
        0
    } else {
        all & !all.checked_shr(prefix.min(w)).unwrap_or(0)
    }
}

fn write_value(f: &mut fmt::Formatter<'_>, value: u128, format: Format) -> fmt::Result {
    match format {
        Format::Decimal => write!(f, "{value}"),
        Format::Hex => write!(f, "{value:#x}"),
        Format::Ipv4 => write!(f, "{}", Ipv4Addr::from(value as u32)),
        Format::Ipv6 => write!(f, "{}", Ipv6Addr::from(value)),
        Format::Ethernet => {
            let b = (value as u64).to_be_bytes();
            write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                b[2], b[3], b[4], b[5], b[6], b[7]
            )
        }
    }
}

impl fmt::Display for Constant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, self.value, self.format)?;
        match self.mask {
            None => Ok(()),
            Some(Mask::Prefix(p)) => write!(f, "/{p}"),
            Some(Mask::Bits(m, format)) => {
                f.write_str("/")?;
                write_value(f, m, format)
            }
        }
    }
}

/// One token.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Token {
    /// A name: `ip4.src`, `ct.new`, `reg0`, `next`.
    Id(String),
    /// A quoted string, unescaped.
    Str(String),
    /// An integer or address, maybe masked.
    Const(Constant),
    /// `$name`: an address set (or a port group's `_ip4`/`_ip6` set).
    AddressSet(String),
    /// `@name`: a port group.
    PortGroup(String),
    /// `^name`: a chassis template variable.
    Template(String),
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `!`
    Not,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LCurly,
    /// `}`
    RCurly,
    /// `[`
    LSquare,
    /// `]`
    RSquare,
    /// `..`
    Ellipsis,
    /// `,`
    Comma,
    /// `;`
    Semicolon,
    /// `=`
    Equals,
    /// `<->`
    Exchange,
    /// `->`
    Arrow,
    /// `:`
    Colon,
    /// `--`
    Decrement,
    /// `-` on its own: only port ranges use it (`ct_snat(10.0.0.1, 1000-2000)`).
    Hyphen,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Token::Id(s) => return f.write_str(s),
            Token::Str(s) => return write_json_string(f, s),
            Token::Const(c) => return c.fmt(f),
            Token::AddressSet(s) => return write!(f, "${s}"),
            Token::PortGroup(s) => return write!(f, "@{s}"),
            Token::Template(s) => return write!(f, "^{s}"),
            Token::Eq => "==",
            Token::Ne => "!=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::Not => "!",
            Token::And => "&&",
            Token::Or => "||",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LCurly => "{",
            Token::RCurly => "}",
            Token::LSquare => "[",
            Token::RSquare => "]",
            Token::Ellipsis => "..",
            Token::Comma => ",",
            Token::Semicolon => ";",
            Token::Equals => "=",
            Token::Exchange => "<->",
            Token::Arrow => "->",
            Token::Colon => ":",
            Token::Decrement => "--",
            Token::Hyphen => "-",
        };
        f.write_str(s)
    }
}

/// Writes `s` as a JSON string literal.
pub fn write_json_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// A token and where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned {
    /// The token.
    pub token: Token,
    /// Its bytes in the input.
    pub span: Span,
}

/// Splits `input` into tokens, skipping white space and comments.
pub fn tokenize(input: &str) -> Result<Vec<Spanned>> {
    let mut lexer = Lexer { src: input, pos: 0 };
    let mut out = Vec::new();
    while let Some(t) = lexer.next_token()? {
        out.push(t);
    }
    Ok(out)
}

fn is_id_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_id_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn peek_at(&self, i: usize) -> Option<u8> {
        self.src.as_bytes().get(i).copied()
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn next_token(&mut self) -> Result<Option<Spanned>> {
        self.skip_blanks()?;
        let start = self.pos;
        let Some(c) = self.peek_at(start) else {
            return Ok(None);
        };
        let token = match c {
            b'"' => Token::Str(self.string()?),
            b'$' | b'@' | b'^' => {
                self.pos += 1;
                let name = self.id_chars();
                if name.is_empty() {
                    let what = match c {
                        b'$' => "an address set name",
                        b'@' => "a port group name",
                        _ => "a template variable name",
                    };
                    return Err(Error::lex(
                        Span::new(start, start + 1),
                        format!("`{}` must be followed by {what}", c as char),
                    ));
                }
                let name = name.to_string();
                match c {
                    b'$' => Token::AddressSet(name),
                    b'@' => Token::PortGroup(name),
                    _ => Token::Template(name),
                }
            }
            b':' if self.peek_at(start + 1) == Some(b':') => match self.constant()? {
                Some(c) => Token::Const(c),
                None => return Err(self.invalid_number(start)),
            },
            c if c.is_ascii_digit() => match self.constant()? {
                Some(c) => Token::Const(c),
                None => return Err(self.invalid_number(start)),
            },
            c if is_id_start(c) => {
                // Hex letters may start an Ethernet or IPv6 address (`ff:ff:...`,
                // `fe80::1`); anything else with a letter is a name.
                if c.is_ascii_hexdigit() {
                    if let Some(k) = self.constant()? {
                        return Ok(Some(Spanned {
                            token: Token::Const(k),
                            span: Span::new(start, self.pos),
                        }));
                    }
                }
                Token::Id(self.id_chars().to_string())
            }
            _ => self.operator()?,
        };
        Ok(Some(Spanned {
            token,
            span: Span::new(start, self.pos),
        }))
    }

    fn skip_blanks(&mut self) -> Result<()> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if let Some(body) = trimmed.strip_prefix("/*") {
                match body.find("*/") {
                    Some(i) => self.pos += i + 4,
                    None => {
                        return Err(Error::lex(
                            Span::new(self.pos, self.pos + 2),
                            "`/*` comment is not closed by `*/`",
                        ))
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    /// Identifier characters from the current position; stops before `..`
    /// so that `x[0..3]`-like text never glues a range into a name.
    fn id_chars(&mut self) -> &'a str {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start;
        while i < bytes.len() && is_id_char(bytes[i]) {
            if bytes[i] == b'.' && bytes.get(i + 1) == Some(&b'.') {
                break;
            }
            i += 1;
        }
        self.pos = i;
        &self.src[start..i]
    }

    fn operator(&mut self) -> Result<Token> {
        const OPS: &[(&str, Token)] = &[
            ("<->", Token::Exchange),
            ("==", Token::Eq),
            ("!=", Token::Ne),
            ("<=", Token::Le),
            (">=", Token::Ge),
            ("&&", Token::And),
            ("||", Token::Or),
            ("..", Token::Ellipsis),
            ("->", Token::Arrow),
            ("--", Token::Decrement),
            ("-", Token::Hyphen),
            ("<", Token::Lt),
            (">", Token::Gt),
            ("!", Token::Not),
            ("(", Token::LParen),
            (")", Token::RParen),
            ("{", Token::LCurly),
            ("}", Token::RCurly),
            ("[", Token::LSquare),
            ("]", Token::RSquare),
            (",", Token::Comma),
            (";", Token::Semicolon),
            ("=", Token::Equals),
            (":", Token::Colon),
        ];
        let rest = self.rest();
        for (text, token) in OPS {
            if rest.starts_with(text) {
                self.pos += text.len();
                return Ok(token.clone());
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        let span = Span::new(self.pos, self.pos + c.len_utf8());
        let message = match c {
            '&' => "`&` is only valid as part of `&&`".to_string(),
            '|' => "`|` is only valid as part of `||`".to_string(),
            '.' => "`.` is only valid as part of `..` or a name".to_string(),
            '/' => {
                "`/` is only valid as part of `//`, `/*` or a masked constant such as `10.0.0.0/8`"
                    .to_string()
            }
            c => format!("unexpected character {c:?}"),
        };
        Err(Error::lex(span, message))
    }

    fn string(&mut self) -> Result<String> {
        let start = self.pos;
        let src = self.src;
        let mut out = String::new();
        let mut i = start + 1;
        while let Some(c) = src[i..].chars().next() {
            match c {
                '"' => {
                    self.pos = i + 1;
                    return Ok(out);
                }
                '\\' => {
                    let Some(e) = src[i + 1..].chars().next() else {
                        break;
                    };
                    let simple = match e {
                        '"' => Some('"'),
                        '\\' => Some('\\'),
                        '/' => Some('/'),
                        'b' => Some('\u{8}'),
                        'f' => Some('\u{c}'),
                        'n' => Some('\n'),
                        'r' => Some('\r'),
                        't' => Some('\t'),
                        _ => None,
                    };
                    if let Some(c) = simple {
                        out.push(c);
                        i += 2;
                        continue;
                    }
                    if e != 'u' {
                        return Err(Error::lex(
                            Span::new(i, i + 1 + e.len_utf8()),
                            format!("invalid escape `\\{e}` in string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"),
                        ));
                    }
                    let hi = self.hex4(i + 2)?;
                    let mut end = i + 6;
                    let code = if (0xd800..0xdc00).contains(&hi) {
                        let lo = if src[end..].starts_with("\\u") {
                            self.hex4(end + 2)?
                        } else {
                            0
                        };
                        if !(0xdc00..0xe000).contains(&lo) {
                            return Err(Error::lex(
                                Span::new(i, end),
                                "`\\u` high surrogate must be followed by a `\\u` low surrogate",
                            ));
                        }
                        end += 6;
                        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                    } else {
                        hi
                    };
                    match char::from_u32(code) {
                        Some(c) => out.push(c),
                        None => {
                            return Err(Error::lex(
                                Span::new(i, end),
                                format!("`\\u{code:04x}` is not a Unicode scalar value"),
                            ))
                        }
                    }
                    i = end;
                }
                c if (c as u32) < 0x20 => {
                    return Err(Error::lex(
                        Span::new(i, i + 1),
                        "control character in string; write it as an escape such as `\\n`",
                    ))
                }
                c => {
                    out.push(c);
                    i += c.len_utf8();
                }
            }
        }
        Err(Error::lex(
            Span::new(start, src.len()),
            "input ends inside quoted string",
        ))
    }

    fn hex4(&self, at: usize) -> Result<u32> {
        let digits = self
            .src
            .get(at..at + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        match digits {
            Some(d) => Ok(u32::from_str_radix(d, 16).unwrap_or(0)),
            None => Err(Error::lex(
                Span::new(at.saturating_sub(2), (at + 4).min(self.src.len())),
                "`\\u` must be followed by exactly four hex digits",
            )),
        }
    }

    fn invalid_number(&self, start: usize) -> Error {
        let end = start
            + self.src[start..]
                .bytes()
                .take_while(|&b| is_id_char(b) || b == b':')
                .count()
                .max(1);
        Error::lex(
            Span::new(start, end),
            format!("invalid numeric constant `{}`", &self.src[start..end]),
        )
    }

    /// Lexes a constant with its optional mask at the current position.
    /// Returns `Ok(None)` if the text there is not a number or address at
    /// all (the caller then treats it as a name), without moving.
    fn constant(&mut self) -> Result<Option<Constant>> {
        let start = self.pos;
        let Some((value, format, end)) = self.scalar(start)? else {
            return Ok(None);
        };
        self.pos = end;
        if self.peek_at(end) == Some(b'/') && !matches!(self.peek_at(end + 1), Some(b'/' | b'*')) {
            let mstart = end + 1;
            let Some((mvalue, mformat, mend)) = self.scalar(mstart)? else {
                return Err(Error::lex(
                    Span::new(end, end + 1),
                    "`/` after a constant must be followed by a mask or prefix length",
                ));
            };
            let mspan = Span::new(mstart, mend);
            let mask = match (format, mformat) {
                (Format::Ipv4 | Format::Ipv6, Format::Decimal) => {
                    let w = format.address_width().unwrap_or(128);
                    if mvalue > w as u128 {
                        return Err(Error::lex(
                            mspan,
                            format!(
                                "prefix length {mvalue} is longer than a {}-bit {} address",
                                w,
                                format.name()
                            ),
                        ));
                    }
                    Mask::Prefix(mvalue as u32)
                }
                (Format::Decimal | Format::Hex, Format::Decimal | Format::Hex) => {
                    Mask::Bits(mvalue, mformat)
                }
                (a, b) if a == b => Mask::Bits(mvalue, mformat),
                _ => {
                    return Err(Error::lex(
                        mspan,
                        format!(
                            "value and mask have incompatible formats ({} value, {} mask)",
                            format.name(),
                            mformat.name()
                        ),
                    ))
                }
            };
            // Like upstream, 1-bits outside the mask are allowed (`10.0.0.1/8`)
            // and ignored when matching; the tree keeps what was written.
            let c = Constant {
                value,
                format,
                mask: Some(mask),
            };
            self.pos = mend;
            return Ok(Some(c));
        }
        Ok(Some(Constant::new(value, format)))
    }

    /// One unmasked number or address at `start`: value, format, end.
    fn scalar(&self, start: usize) -> Result<Option<(u128, Format, usize)>> {
        let bytes = self.src.as_bytes();
        let run_end = |from: usize, ok: fn(u8) -> bool| {
            let mut i = from;
            while i < bytes.len() && ok(bytes[i]) {
                i += 1;
            }
            i
        };
        let ends_cleanly =
            |i: usize| !matches!(bytes.get(i), Some(&b) if b.is_ascii_alphanumeric() || b == b'_');

        // Ethernet: six groups of one or two hex digits separated by colons.
        if let Some((v, end)) = ethernet_at(bytes, start) {
            if ends_cleanly(end) && !matches!(bytes.get(end), Some(b':' | b'.')) {
                return Ok(Some((v as u128, Format::Ethernet, end)));
            }
        }
        // IPv6: the longest run of hex digits, colons and dots that contains a colon.
        let run = run_end(start, |b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        let text = &self.src[start..run];
        if text.contains(':') && ends_cleanly(run) {
            if let Ok(a) = text.parse::<Ipv6Addr>() {
                return Ok(Some((u128::from(a), Format::Ipv6, run)));
            }
            if text.contains("::") || text.matches(':').count() >= 2 && !text.contains('.') {
                return Err(Error::lex(
                    Span::new(start, run),
                    format!("invalid IPv6 address `{text}`"),
                ));
            }
        }
        if !bytes.get(start).is_some_and(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        // IPv4: four dotted decimal octets.
        if let Some((v, end)) = ipv4_at(self.src, start)? {
            if ends_cleanly(end)
                && !(bytes.get(end) == Some(&b'.') && bytes.get(end + 1) != Some(&b'.'))
            {
                return Ok(Some((v as u128, Format::Ipv4, end)));
            }
        }
        // Integers.
        if bytes[start] == b'0' && matches!(bytes.get(start + 1), Some(b'x' | b'X')) {
            let digits_end = run_end(start + 2, |b| b.is_ascii_hexdigit());
            let digits = &self.src[start + 2..digits_end];
            if digits.is_empty() {
                return Err(Error::lex(
                    Span::new(start, start + 2),
                    format!(
                        "hex digits expected following `{}`",
                        &self.src[start..start + 2]
                    ),
                ));
            }
            if !ends_cleanly(digits_end) {
                return Err(self.invalid_number(start));
            }
            let significant = digits.trim_start_matches('0');
            if significant.len() > 32 {
                return Err(Error::lex(
                    Span::new(start, digits_end),
                    "hexadecimal constant needs more than 128 bits",
                ));
            }
            let v = if significant.is_empty() {
                0
            } else {
                u128::from_str_radix(significant, 16).unwrap_or(0)
            };
            return Ok(Some((v, Format::Hex, digits_end)));
        }
        let digits_end = run_end(start, |b| b.is_ascii_digit());
        if !ends_cleanly(digits_end)
            || (bytes.get(digits_end) == Some(&b'.') && bytes.get(digits_end + 1) != Some(&b'.'))
        {
            return Err(self.invalid_number(start));
        }
        let digits = &self.src[start..digits_end];
        if digits.len() > 1 && digits.starts_with('0') {
            return Err(Error::lex(
                Span::new(start, digits_end),
                format!(
                    "decimal constant `{digits}` must not have leading zeros (write hex as 0x...)"
                ),
            ));
        }
        // Upstream limits decimals to 64 bits; wider values are written in hex.
        match digits.parse::<u64>() {
            Ok(v) => Ok(Some((v as u128, Format::Decimal, digits_end))),
            Err(_) => Err(Error::lex(
                Span::new(start, digits_end),
                "decimal constants must be less than 2**64; write wider values in hex (0x...)",
            )),
        }
    }
}

fn ethernet_at(bytes: &[u8], start: usize) -> Option<(u64, usize)> {
    let mut i = start;
    let mut v: u64 = 0;
    for group in 0..6 {
        if group > 0 {
            if bytes.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
        }
        let mut n = 0;
        let mut g: u64 = 0;
        while n < 2 {
            match bytes.get(i) {
                Some(b) if b.is_ascii_hexdigit() => {
                    g = g * 16 + (*b as char).to_digit(16).unwrap_or(0) as u64;
                    i += 1;
                    n += 1;
                }
                _ => break,
            }
        }
        if n == 0 {
            return None;
        }
        v = (v << 8) | g;
    }
    if bytes.get(i).is_some_and(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((v, i))
}

fn ipv4_at(src: &str, start: usize) -> Result<Option<(u32, usize)>> {
    let bytes = src.as_bytes();
    let mut i = start;
    let mut octets = [(0, 0); 4];
    for (part, octet) in octets.iter_mut().enumerate() {
        if part > 0 {
            if bytes.get(i) != Some(&b'.') {
                return Ok(None);
            }
            i += 1;
        }
        let s = i;
        while bytes.get(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
        if s == i {
            return Ok(None);
        }
        *octet = (s, i);
    }
    let mut v: u32 = 0;
    for (s, e) in octets {
        let n: u32 = src[s..e].parse().unwrap_or(256);
        if n > 255 || (e - s > 1 && bytes[s] == b'0') {
            return Err(Error::lex(
                Span::new(start, i),
                format!(
                    "invalid IPv4 address: octet `{}` must be 0 to 255 without leading zeros",
                    &src[s..e]
                ),
            ));
        }
        v = (v << 8) | n;
    }
    Ok(Some((v, i)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Token> {
        tokenize(s)
            .unwrap_or_else(|e| panic!("{s:?}: {}", e.render(s)))
            .into_iter()
            .map(|t| t.token)
            .collect()
    }

    fn one(s: &str) -> Token {
        let t = toks(s);
        assert_eq!(t.len(), 1, "{s:?} gave {t:?}");
        t.into_iter().next().unwrap_or(Token::Comma)
    }

    fn err(s: &str) -> Error {
        match tokenize(s) {
            Ok(t) => panic!("{s:?} lexed as {t:?}"),
            Err(e) => e,
        }
    }

    fn c(value: u128, format: Format, mask: Option<Mask>) -> Token {
        Token::Const(Constant {
            value,
            format,
            mask,
        })
    }

    /// Every token kind: lex, print, lex again.
    #[test]
    fn round_trip_every_token_kind() {
        let cases: &[(&str, Token, &str)] = &[
            ("ip4.src", Token::Id("ip4.src".into()), "ip4.src"),
            ("ct.new", Token::Id("ct.new".into()), "ct.new"),
            ("_x9", Token::Id("_x9".into()), "_x9"),
            (r#""lp1""#, Token::Str("lp1".into()), r#""lp1""#),
            (
                r#""a\"b\\c\/d\n\t\r\b\f""#,
                Token::Str("a\"b\\c/d\n\t\r\u{8}\u{c}".into()),
                r#""a\"b\\c/d\n\t\r\b\f""#,
            ),
            (
                r#""\u00e9\ud83d\ude00""#,
                Token::Str("é😀".into()),
                r#""é😀""#,
            ),
            ("123", c(123, Format::Decimal, None), "123"),
            ("0", c(0, Format::Decimal, None), "0"),
            ("0x0800", c(0x800, Format::Hex, None), "0x800"),
            ("0XfF", c(0xff, Format::Hex, None), "0xff"),
            (
                "0xffffffffffffffffffffffffffffffff",
                c(u128::MAX, Format::Hex, None),
                "0xffffffffffffffffffffffffffffffff",
            ),
            (
                "18446744073709551615",
                c(u64::MAX as u128, Format::Decimal, None),
                "18446744073709551615",
            ),
            (
                "0x8/0xc",
                c(8, Format::Hex, Some(Mask::Bits(0xc, Format::Hex))),
                "0x8/0xc",
            ),
            (
                "4/12",
                c(4, Format::Decimal, Some(Mask::Bits(12, Format::Decimal))),
                "4/12",
            ),
            ("10.0.0.1", c(0x0a000001, Format::Ipv4, None), "10.0.0.1"),
            (
                "10.0.0.0/8",
                c(0x0a000000, Format::Ipv4, Some(Mask::Prefix(8))),
                "10.0.0.0/8",
            ),
            (
                "10.0.0.0/255.0.255.0",
                c(
                    0x0a000000,
                    Format::Ipv4,
                    Some(Mask::Bits(0xff00ff00, Format::Ipv4)),
                ),
                "10.0.0.0/255.0.255.0",
            ),
            (
                "0.0.0.0/0",
                c(0, Format::Ipv4, Some(Mask::Prefix(0))),
                "0.0.0.0/0",
            ),
            (
                "fe80::1",
                c(0xfe80 << 112 | 1, Format::Ipv6, None),
                "fe80::1",
            ),
            ("::", c(0, Format::Ipv6, None), "::"),
            ("::1", c(1, Format::Ipv6, None), "::1"),
            (
                "FD00:0:0:0:0:0:0:1",
                c(0xfd00 << 112 | 1, Format::Ipv6, None),
                "fd00::1",
            ),
            (
                "::ffff:10.0.0.1",
                c(0xffff_0a00_0001, Format::Ipv6, None),
                "::ffff:10.0.0.1",
            ),
            (
                "fe80::/10",
                c(0xfe80 << 112, Format::Ipv6, Some(Mask::Prefix(10))),
                "fe80::/10",
            ),
            (
                "ff02::1:ff00:0000/104",
                c(
                    0xff02 << 112 | 0x1_ff00_0000,
                    Format::Ipv6,
                    Some(Mask::Prefix(104)),
                ),
                "ff02::1:ff00:0/104",
            ),
            (
                "aef0::4",
                c(0xaef0 << 112 | 4, Format::Ipv6, None),
                "aef0::4",
            ),
            (
                "00:00:5E:00:53:01",
                c(0x00005e005301, Format::Ethernet, None),
                "00:00:5e:00:53:01",
            ),
            (
                "ff:ff:ff:ff:ff:ff",
                c(0xffffffffffff, Format::Ethernet, None),
                "ff:ff:ff:ff:ff:ff",
            ),
            (
                "01:00:00:00:00:00/01:00:00:00:00:00",
                c(
                    1 << 40,
                    Format::Ethernet,
                    Some(Mask::Bits(1 << 40, Format::Ethernet)),
                ),
                "01:00:00:00:00:00/01:00:00:00:00:00",
            ),
            ("$as1", Token::AddressSet("as1".into()), "$as1"),
            (
                "$pg_web_ip4",
                Token::AddressSet("pg_web_ip4".into()),
                "$pg_web_ip4",
            ),
            ("@pg_web", Token::PortGroup("pg_web".into()), "@pg_web"),
            ("^vip", Token::Template("vip".into()), "^vip"),
            ("==", Token::Eq, "=="),
            ("!=", Token::Ne, "!="),
            ("<", Token::Lt, "<"),
            ("<=", Token::Le, "<="),
            (">", Token::Gt, ">"),
            (">=", Token::Ge, ">="),
            ("!", Token::Not, "!"),
            ("&&", Token::And, "&&"),
            ("||", Token::Or, "||"),
            ("(", Token::LParen, "("),
            (")", Token::RParen, ")"),
            ("{", Token::LCurly, "{"),
            ("}", Token::RCurly, "}"),
            ("[", Token::LSquare, "["),
            ("]", Token::RSquare, "]"),
            ("..", Token::Ellipsis, ".."),
            (",", Token::Comma, ","),
            (";", Token::Semicolon, ";"),
            ("=", Token::Equals, "="),
            ("<->", Token::Exchange, "<->"),
            ("->", Token::Arrow, "->"),
            (":", Token::Colon, ":"),
            ("--", Token::Decrement, "--"),
            ("-", Token::Hyphen, "-"),
        ];
        for (text, token, printed) in cases {
            assert_eq!(&one(text), token, "lexing {text:?}");
            assert_eq!(token.to_string(), *printed, "printing {text:?}");
            assert_eq!(&one(printed), token, "re-lexing {printed:?}");
        }
    }

    #[test]
    fn spans_and_context() {
        let s = "reg0[0..15] == 0x1/* c */&&ip4.src==10.0.0.0/8 // tail";
        let t = tokenize(s).unwrap_or_default();
        let texts: Vec<&str> = t.iter().map(|t| &s[t.span.start..t.span.end]).collect();
        assert_eq!(
            texts,
            [
                "reg0",
                "[",
                "0",
                "..",
                "15",
                "]",
                "==",
                "0x1",
                "&&",
                "ip4.src",
                "==",
                "10.0.0.0/8"
            ]
        );
        // Names stop before `..`; numbers before `..` and `:`.
        assert_eq!(toks("x[1..2]").len(), 6);
        assert_eq!(
            toks("10.0.0.4:80"),
            [
                c(0x0a000004, Format::Ipv4, None),
                Token::Colon,
                c(80, Format::Decimal, None)
            ]
        );
        assert_eq!(
            toks("[fd00::1]:80")[1],
            c(0xfd00 << 112 | 1, Format::Ipv6, None)
        );
        assert_eq!(
            toks("ip.ttl--"),
            [Token::Id("ip.ttl".into()), Token::Decrement]
        );
        assert_eq!(toks("a<->b").len(), 3);
        // Hex-looking names stay names.
        assert_eq!(
            toks("dead beef add"),
            ["dead", "beef", "add"].map(|s| Token::Id(s.into()))
        );
        assert!(toks("").is_empty());
        assert!(toks("  // only a comment\n /* and another */ ").is_empty());
    }

    #[test]
    fn errors_carry_positions() {
        let cases: &[(&str, usize, usize, &str)] = &[
            ("a & b", 2, 3, "`&&`"),
            ("a | b", 2, 3, "`||`"),
            ("x == \"abc", 5, 9, "ends inside quoted string"),
            ("\"a\\qb\"", 2, 4, "invalid escape"),
            ("\"\\u12\"", 1, 6, "four hex digits"),
            ("\"\\ud800x\"", 1, 7, "low surrogate"),
            ("\"a\nb\"", 2, 3, "control character"),
            ("x /* open", 2, 4, "not closed"),
            ("0x", 0, 2, "hex digits expected"),
            ("0xfg", 0, 4, "invalid numeric constant"),
            ("12ab", 0, 4, "invalid numeric constant"),
            ("007", 0, 3, "leading zeros"),
            ("1.2", 0, 3, "invalid numeric constant"),
            ("10.256.0.1", 0, 10, "octet `256` must be 0 to 255"),
            ("10.0.0.0/33", 9, 11, "prefix length 33"),
            ("10.0.0.0/ff::", 9, 13, "incompatible formats"),
            ("0x1/10.0.0.0", 4, 12, "incompatible formats"),
            ("1:2:3::4::5", 0, 11, "invalid IPv6"),
            (
                "0x1000000000000000000000000000000000",
                0,
                36,
                "more than 128 bits",
            ),
            ("18446744073709551616", 0, 20, "less than 2**64"),
            ("$", 0, 1, "address set name"),
            ("@ x", 0, 1, "port group name"),
            ("^", 0, 1, "template variable name"),
            ("a / b", 2, 3, "`/`"),
            ("a # b", 2, 3, "unexpected character"),
            ("x == 1/", 6, 7, "mask"),
        ];
        for &(text, start, end, needle) in cases {
            let e = err(text);
            assert!(matches!(e, Error::Lex { .. }), "{text:?}: {e:?}");
            assert_eq!(
                (e.span().start, e.span().end),
                (start, end),
                "{text:?}: {e}"
            );
            assert!(
                e.message().contains(needle),
                "{text:?}: {e} lacks {needle:?}"
            );
        }
    }

    #[test]
    fn render_points_at_the_error() {
        let s = "ip4 &&\n  tcp.dst == 0xzz";
        let e = err(s);
        assert_eq!(
            e.render(s),
            "2:14: hex digits expected following `0x`\n  tcp.dst == 0xzz\n             ^^"
        );
    }

    #[test]
    fn constant_widths() {
        let k = |s: &str| match one(s) {
            Token::Const(c) => c,
            t => panic!("{t:?}"),
        };
        assert_eq!(k("0").width(), 0);
        assert_eq!(k("255").width(), 8);
        assert_eq!(k("0x100").width(), 9);
        assert_eq!(k("0x0/0xff00").width(), 16);
        assert_eq!(k("1.2.3.4").width(), 32);
        assert_eq!(k("::1").width(), 128);
        assert_eq!(k("00:00:00:00:00:01").width(), 48);
        assert_eq!(k("10.0.0.0/8").mask_bits(), 0xff000000);
        assert_eq!(k("fe80::/10").mask_bits(), 0xffc0 << 112);
        assert_eq!(k("7").mask_bits(), u128::MAX);
        // Bits outside the mask are kept as written (and ignored by matching).
        assert_eq!(k("10.0.0.1/8").value, 0x0a000001);
    }
}
