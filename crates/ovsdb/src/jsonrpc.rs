//! JSON-RPC 1.0 as OVSDB speaks it (RFC 7047 §4): messages, and the framing
//! of a byte stream of concatenated JSON texts into messages.
//!
//! The framer finds message boundaries by scanning brackets and strings
//! before parsing, so an oversized message is refused as soon as it crosses
//! the limit, without buffering it whole.

use serde_json::{json, Map, Value};

/// One JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request expecting a reply.
    Request {
        /// Method name.
        method: String,
        /// Parameters (always an array).
        params: Vec<Value>,
        /// Request id (not null).
        id: Value,
    },
    /// A notification (a request with a null id).
    Notify {
        /// Method name.
        method: String,
        /// Parameters (always an array).
        params: Vec<Value>,
    },
    /// A successful reply.
    Reply {
        /// The result.
        result: Value,
        /// The id of the request answered.
        id: Value,
    },
    /// An error reply.
    Error {
        /// The error (a string or an object).
        error: Value,
        /// The id of the request answered (null if it could not be parsed).
        id: Value,
    },
}

/// Why a message or stream is bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// The bytes are not JSON.
    #[error("JSON parse error: {0}")]
    Json(String),
    /// A message exceeded the size limit.
    #[error("message longer than {0} bytes")]
    TooLong(usize),
    /// JSON, but not a valid JSON-RPC message.
    #[error("invalid JSON-RPC message: {0}")]
    Invalid(String),
}

impl Message {
    /// Parses a JSON value as a JSON-RPC message.
    pub fn from_json(v: Value) -> Result<Message, RpcError> {
        let Value::Object(mut o) = v else {
            return Err(RpcError::Invalid("message is not a JSON object".into()));
        };
        let method = o.remove("method");
        let params = o.remove("params");
        let result = o.remove("result");
        let error = o.remove("error");
        let id = o.remove("id");
        if let Some(k) = o.keys().next() {
            return Err(RpcError::Invalid(format!("message has unexpected member \"{k}\"")));
        }
        match method {
            Some(Value::String(method)) => {
                if result.is_some() || error.is_some() {
                    return Err(RpcError::Invalid("request has \"result\" or \"error\"".into()));
                }
                let params = match params {
                    Some(Value::Array(a)) => a,
                    _ => return Err(RpcError::Invalid(format!("\"params\" of \"{method}\" must be an array"))),
                };
                // A missing id is taken as null (a notification), as
                // ovsdb-server and the python client do.
                match id {
                    None | Some(Value::Null) => Ok(Message::Notify { method, params }),
                    Some(id) => Ok(Message::Request { method, params, id }),
                }
            }
            Some(_) => Err(RpcError::Invalid("\"method\" must be a string".into())),
            None => {
                if params.is_some() {
                    return Err(RpcError::Invalid("reply has \"params\"".into()));
                }
                let id = id.ok_or_else(|| RpcError::Invalid("reply has no \"id\"".into()))?;
                match (result, error) {
                    (Some(r), None | Some(Value::Null)) => Ok(Message::Reply { result: r, id }),
                    (None | Some(Value::Null), Some(e)) if !e.is_null() => Ok(Message::Error { error: e, id }),
                    _ => Err(RpcError::Invalid("reply must have exactly one of \"result\" and \"error\"".into())),
                }
            }
        }
    }

    /// The message as JSON, in the form OVSDB peers send (an error reply
    /// has no `"result"` member, as ovsdb-server sends it).
    pub fn to_json(&self) -> Value {
        match self {
            Message::Request { method, params, id } => json!({"method": method, "params": params, "id": id}),
            Message::Notify { method, params } => json!({"method": method, "params": params, "id": null}),
            Message::Reply { result, id } => json!({"result": result, "error": null, "id": id}),
            Message::Error { error, id } => json!({"error": error, "id": id}),
        }
    }

    /// The message serialized, ready to send: the bytes of
    /// [`Message::to_json`], members in its (sorted) order, written without
    /// copying the parameters or result into a new `Value` first (writing
    /// to a Vec cannot fail).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        match self {
            Message::Request { method, params, id } => {
                out.extend_from_slice(b"{\"id\":");
                let _ = serde_json::to_writer(&mut out, id);
                out.extend_from_slice(b",\"method\":");
                let _ = serde_json::to_writer(&mut out, method);
                out.extend_from_slice(b",\"params\":");
                let _ = serde_json::to_writer(&mut out, params);
            }
            Message::Notify { method, params } => {
                out.extend_from_slice(b"{\"id\":null,\"method\":");
                let _ = serde_json::to_writer(&mut out, method);
                out.extend_from_slice(b",\"params\":");
                let _ = serde_json::to_writer(&mut out, params);
            }
            Message::Reply { result, id } => {
                out.extend_from_slice(b"{\"error\":null,\"id\":");
                let _ = serde_json::to_writer(&mut out, id);
                out.extend_from_slice(b",\"result\":");
                let _ = serde_json::to_writer(&mut out, result);
            }
            Message::Error { error, id } => {
                out.extend_from_slice(b"{\"error\":");
                let _ = serde_json::to_writer(&mut out, error);
                out.extend_from_slice(b",\"id\":");
                let _ = serde_json::to_writer(&mut out, id);
            }
        }
        out.push(b'}');
        out
    }
}

/// Splits a byte stream into JSON texts.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Bytes of `buf` already scanned for the current text.
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    max: usize,
    broken: Option<RpcError>,
}

impl Framer {
    /// A framer refusing texts longer than `max` bytes.
    pub fn new(max: usize) -> Framer {
        Framer { buf: Vec::new(), scanned: 0, depth: 0, in_string: false, escaped: false, max, broken: None }
    }

    /// Adds received bytes.
    pub fn push(&mut self, data: &[u8]) {
        if self.broken.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// Bytes buffered but not yet returned as a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete JSON text, if one has arrived. After an error the
    /// stream cannot be resynchronized: every later call returns the error.
    pub fn next_value(&mut self) -> Option<Result<Value, RpcError>> {
        Some(self.next_text()?.and_then(|text| {
            serde_json::from_slice(&text).map_err(|e| self.fail(RpcError::Json(e.to_string())))
        }))
    }

    /// The bytes of the next complete JSON text, if one has arrived, not
    /// yet parsed: whether it is JSON is for the caller to find out (and,
    /// if it is not, to stop reading the stream). Errors as
    /// [`Framer::next_value`]'s, but for a text that is not JSON.
    pub fn next_text(&mut self) -> Option<Result<Vec<u8>, RpcError>> {
        if let Some(e) = &self.broken {
            return Some(Err(e.clone()));
        }
        // Skip whitespace between texts.
        if self.scanned == 0 {
            let skip = self.buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            if skip == self.buf.len() {
                self.buf = Vec::new();
            } else {
                self.buf.drain(..skip);
            }
        }
        let mut i = self.scanned;
        while i < self.buf.len() {
            let b = self.buf[i];
            i += 1;
            // Every byte counts, strings included, whether the text came in
            // one read or many.
            if i > self.max {
                return Some(Err(self.fail(RpcError::TooLong(self.max))));
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                } else {
                    // Skip to the next quote or backslash in one search
                    // (within the limit, so that an endless string is
                    // still refused as soon as it crosses it).
                    let end = self.buf.len().min(self.max);
                    match memchr::memchr2(b'"', b'\\', &self.buf[i.min(end)..end]) {
                        Some(n) => i += n,
                        None => i = self.buf.len().max(i),
                    }
                }
                continue;
            }
            match b {
                b'"' if self.depth > 0 => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        let text = if i == self.buf.len() {
                            // All taken: the buffer goes with the text (the
                            // next bytes get one of their size), so that an
                            // idle connection holds none, whatever it once
                            // sent.
                            std::mem::take(&mut self.buf)
                        } else {
                            let t = self.buf[..i].to_vec();
                            self.buf.drain(..i);
                            t
                        };
                        self.scanned = 0;
                        return Some(Ok(text));
                    }
                }
                _ if self.depth == 0 => {
                    // OVSDB messages are objects (or arrays); a bare scalar
                    // at top level is a protocol error.
                    let shown: String = String::from_utf8_lossy(&self.buf[..self.buf.len().min(40)]).into_owned();
                    return Some(Err(self.fail(RpcError::Json(format!("unexpected text at top level: {shown:?}")))));
                }
                _ => {}
            }
        }
        self.scanned = i;
        if self.scanned > self.max {
            return Some(Err(self.fail(RpcError::TooLong(self.max))));
        }
        None
    }

    /// The next complete JSON-RPC message.
    pub fn next_message(&mut self) -> Option<Result<Message, RpcError>> {
        Some(self.next_value()?.and_then(Message::from_json))
    }

    fn fail(&mut self, e: RpcError) -> RpcError {
        self.broken = Some(e.clone());
        self.buf = Vec::new();
        e
    }
}

/// An error reply object as ovsdb-server sends for a bad request.
pub fn error_object(error: &str, details: Option<&str>) -> Value {
    let mut o = Map::new();
    o.insert("error".into(), Value::from(error));
    if let Some(d) = details {
        o.insert("details".into(), Value::from(d));
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut Framer) -> Vec<Result<Value, RpcError>> {
        let mut out = Vec::new();
        while let Some(r) = f.next_value() {
            let stop = r.is_err();
            out.push(r);
            if stop {
                break;
            }
        }
        out
    }

    #[test]
    fn to_bytes_is_the_json_text() {
        let params = vec![json!("db"), json!({"op": "insert", "row": {"a": [1, 2.5, "x\"y"]}})];
        for m in [
            Message::Request { method: "transact".into(), params: params.clone(), id: json!(7) },
            Message::Request { method: "echo".into(), params: vec![], id: json!("x") },
            Message::Notify { method: "update2".into(), params },
            Message::Reply { result: json!([{"uuid": ["uuid", "u"]}, {}]), id: json!([1, "a"]) },
            Message::Error { error: json!({"error": "e", "details": "d"}), id: Value::Null },
            Message::Error { error: json!("canceled"), id: json!(3) },
        ] {
            assert_eq!(String::from_utf8(m.to_bytes()).unwrap(), m.to_json().to_string());
            let back = Message::from_json(serde_json::from_slice(&m.to_bytes()).unwrap()).unwrap();
            assert_eq!(back, m);
        }
    }

    #[test]
    fn splits_concatenated_texts_byte_by_byte() {
        let stream = br#" {"a":"}{\"]","b":[1,{"c":2}]}[1,2]
{"method":"echo","params":[],"id":"x"}"#;
        let mut f = Framer::new(1 << 20);
        let mut got = Vec::new();
        for b in stream.iter() {
            f.push(std::slice::from_ref(b));
            got.extend(all(&mut f));
        }
        assert_eq!(
            got,
            vec![
                Ok(json!({"a": "}{\"]", "b": [1, {"c": 2}]})),
                Ok(json!([1, 2])),
                Ok(json!({"method": "echo", "params": [], "id": "x"}))
            ]
        );
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn holds_no_buffer_once_every_text_is_taken() {
        // A connection that once sent a large request and then idles must
        // not keep a buffer of that size.
        let big = format!(r#"{{"method":"transact","params":["{}"],"id":1}}"#, "x".repeat(100_000));
        let mut f = Framer::new(1 << 20);
        for tail in ["", "\n", " \r\n "] {
            f.push(big.as_bytes());
            f.push(tail.as_bytes());
            assert!(matches!(f.next_value(), Some(Ok(_))));
            assert!(f.next_value().is_none());
            assert_eq!(f.buf.capacity(), 0, "trailing {tail:?}");
        }
        // A text split across reads keeps what it has so far.
        f.push(br#"{"id":2,"method":"echo","params":[]}{"id":3,"#);
        assert!(matches!(f.next_value(), Some(Ok(_))));
        assert!(f.next_value().is_none());
        f.push(br#""method":"echo","params":[]}"#);
        assert_eq!(f.next_value().unwrap().unwrap(), json!({"id": 3, "method": "echo", "params": []}));
        assert_eq!(f.buf.capacity(), 0);
    }

    #[test]
    fn long_strings_with_escapes_split_anywhere() {
        // Strings are skipped in one search up to the next quote or
        // backslash: wherever a read ends, the texts come out the same.
        let stream = br#"{"s":"a long string with } and ] and { inside \\ and \" and \\\" end","t":["x\\","\"y"]} ["\\"]"#;
        let whole = vec![
            Ok(json!({"s": "a long string with } and ] and { inside \\ and \" and \\\" end", "t": ["x\\", "\"y"]})),
            Ok(json!(["\\"])),
        ];
        for split in 0..=stream.len() {
            for piece in [1, 3, stream.len()] {
                let mut f = Framer::new(1 << 20);
                let mut got = Vec::new();
                let (a, b) = stream.split_at(split);
                for part in [a, b] {
                    for c in part.chunks(piece) {
                        f.push(c);
                        got.extend(all(&mut f));
                    }
                }
                assert_eq!(got, whole, "split at {split}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn oversized_and_malformed_input_is_refused() {
        let mut f = Framer::new(16);
        f.push(br#"{"method":"echo","params":[]"#);
        assert_eq!(f.next_value(), Some(Err(RpcError::TooLong(16))));
        assert_eq!(f.next_value(), Some(Err(RpcError::TooLong(16))));
        let mut f = Framer::new(100);
        f.push(b"{\"a\":tru}");
        assert!(matches!(f.next_value(), Some(Err(RpcError::Json(_)))));
        let mut f = Framer::new(100);
        f.push(b"42 ");
        assert!(matches!(f.next_value(), Some(Err(RpcError::Json(_)))));
    }

    /// Found by fuzzing (fuzz target ovsdb_framer): bytes inside strings
    /// skipped the size check, so a complete oversized message was accepted
    /// when it arrived in one read and refused when it came in pieces.
    #[test]
    fn the_size_limit_does_not_depend_on_how_the_bytes_arrive() {
        let text = format!(r#"{{"method":"echo","params":["{}"],"id":1}}"#, "x".repeat(40));
        for max in [text.len() - 1, text.len()] {
            let want = if max < text.len() { Err(RpcError::TooLong(max)) } else { Ok(()) };
            for piece in [1, 7, text.len()] {
                let mut f = Framer::new(max);
                let mut got = None;
                for c in text.as_bytes().chunks(piece) {
                    f.push(c);
                    if let Some(r) = f.next_value() {
                        got = Some(r.map(|_| ()));
                        break;
                    }
                }
                assert_eq!(got, Some(want.clone()), "max {max}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn messages_round_trip() {
        let msgs = [
            Message::Request { method: "transact".into(), params: vec![json!("db"), json!({"op": "comment"})], id: json!(7) },
            Message::Notify { method: "update".into(), params: vec![json!(null), json!({})] },
            Message::Reply { result: json!([{}]), id: json!("a") },
            Message::Error { error: json!({"error": "unknown method"}), id: json!(3) },
        ];
        for m in msgs {
            let mut f = Framer::new(1000);
            f.push(&m.to_bytes());
            assert_eq!(f.next_message(), Some(Ok(m)));
        }
        for bad in [
            json!([]),
            json!({"method": 1, "params": [], "id": 1}),
            json!({"method": "x", "params": {}, "id": 1}),
            json!({"result": 1, "error": "e", "id": 1}),
            json!({"result": 1}),
            json!({"method": "x", "params": [], "id": 1, "extra": 0}),
        ] {
            assert!(Message::from_json(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(
            Message::from_json(json!({"method": "x", "params": []})),
            Ok(Message::Notify { method: "x".into(), params: vec![] })
        );
        assert_eq!(Message::Error { error: json!("e"), id: json!(1) }.to_json(), json!({"error": "e", "id": 1}));
    }
}
