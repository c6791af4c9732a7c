//! JSON text as the OVS tools print it: compact, object members in the
//! order given (serde_json keeps them sorted), and reals the way C's `%.15g`
//! (or `%.17g` when 15 digits do not round-trip) writes them.

use serde_json::Value;

/// Compact JSON text with OVS-style reals.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write(&mut out, v);
    out
}

fn write(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&real(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => out.push_str(&Value::String(s.clone()).to_string()),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, e);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, e)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(out, e);
            }
            out.push('}');
        }
    }
}

/// JSON text as `--pretty` prints it: one member or element per line,
/// indented by two spaces a level, closing brackets on the last line.
pub fn to_string_pretty(v: &Value) -> String {
    let mut out = String::new();
    write_pretty(&mut out, v, 0);
    out
}

fn write_pretty(out: &mut String, v: &Value, level: usize) {
    let indent = |out: &mut String| {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', (level + 1) * 2));
    };
    match v {
        Value::Array(a) if !a.is_empty() => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out);
                write_pretty(out, e, level + 1);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            if o.is_empty() {
                indent(out);
            }
            for (i, (k, e)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out);
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                write_pretty(out, e, level + 1);
            }
            out.push('}');
        }
        _ => write(out, v),
    }
}

/// A real as `%.15g` writes it, or `%.17g` if 15 significant digits lose
/// information.
pub fn real(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let g15 = format_g(f, 15);
    match g15.parse::<f64>() {
        Ok(back) if back == f => g15,
        _ => format_g(f, 17),
    }
}

/// C's `%.<p>g`.
fn format_g(f: f64, p: usize) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // `{:.*e}` rounds correctly to p significant digits: "d.ddde-7".
    let e_form = format!("{:.*e}", p - 1, f);
    let (mant, exp) = e_form.split_once('e').unwrap_or((&e_form, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if exp < -4 || exp >= p as i32 {
        let mut m = digits[..1].to_string();
        let rest = digits[1..].trim_end_matches('0');
        if !rest.is_empty() {
            m.push('.');
            m.push_str(rest);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        let (int, frac) = digits.split_at(int_len.min(digits.len()));
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    } else {
        let zeros = "0".repeat((-exp - 1) as usize);
        let frac = digits.trim_end_matches('0');
        format!("{sign}0.{zeros}{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_like_printf_g() {
        for (f, s) in [
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (2.5e-7, "2.5e-07"),
            (-3.0, "-3"),
            (1.5, "1.5"),
            (100.5, "100.5"),
            (0.0001, "0.0001"),
            (123456789012345.0, "123456789012345"),
            (1234567890123456.0, "1234567890123456"), (1.2345678901234567e16, "12345678901234568"),
            (1.0 / 3.0, "0.33333333333333331"),
            (-1e-300, "-1e-300"),
        ] {
            assert_eq!(real(f), s, "{f}");
        }
    }

    #[test]
    fn pretty_text() {
        let v = serde_json::json!([{}, {"rows": [], "x": [1, ["a"]]}]);
        assert_eq!(
            to_string_pretty(&v),
            "[\n  {\n    },\n  {\n    \"rows\": [],\n    \"x\": [\n      1,\n      [\n        \"a\"]]}]"
        );
    }

    #[test]
    fn compact_text() {
        let v = serde_json::json!({"b": [1, 2.5, "x\"\n"], "a": null});
        assert_eq!(to_string(&v), r#"{"a":null,"b":[1,2.5,"x\"\n"]}"#);
    }
}
