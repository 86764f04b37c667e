//! Writes the rules the JS side needs, from the core's constants, as one
//! ES module (`www/rules.js`, written by `npm run build`; `cargo run -q -p
//! onramp-core --example js-rules`), and with `cases` the table of cases
//! the JS copy of the referral rules is held to (`www/referral.js`,
//! `tests/e2e/referral.test.mjs`): each case with the core's answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use onramp_core::endpoint::TRACKINGS_PATH;
use onramp_core::options::{
    consent_now, CONFIGURE_OPTIONS, CONSENT_OPTIONS, CONSENT_STATES, PAGE_OPTIONS, TRACKING_OPTIONS,
};
use onramp_core::queue::STORAGE_PREFIX;
use onramp_core::referral::{self as r, Kept, Source, Touch, DAY_MS, SOURCES};
use onramp_core::tracking::BODY_FIELDS;
use serde_json::{json, Value};

fn main() {
    if std::env::args().nth(1).as_deref() == Some("cases") {
        println!("{}", serde_json::to_string_pretty(&cases()).unwrap());
    } else {
        print!("{}", module());
    }
}

fn module() -> String {
    let list = |names: &[&str]| serde_json::to_string(names).unwrap();
    let punctuation: String = r::VALUE_PUNCTUATION
        .chars()
        .map(|c| if c == '-' { "\\-".to_owned() } else { c.to_string() })
        .collect();
    let sources: Vec<&str> = SOURCES.iter().map(|s| s.name()).collect();
    [
        "// Generated from onramp-core by `cargo run -q -p onramp-core --example js-rules`",
        "// (npm run build writes it): do not edit.",
        &format!("export const PARAM = {:?};", r::DEFAULT_PARAM),
        &format!("export const NEVER = {:?};", r::NEVER_READ),
        &format!(
            "export const VALUE = /^[A-Za-z0-9{punctuation}]{{1,{}}}$/;",
            r::MAX_VALUE_LEN
        ),
        &format!("export const DAYS = {};", r::DEFAULT_DAYS),
        &format!("export const MAX_DAYS = {};", r::MAX_DAYS),
        &format!("export const DAY_MS = {DAY_MS};"),
        &format!("export const KEY = {:?};", r::STORAGE_KEY),
        &format!("export const DEBUG = {:?};", r::DEBUG_PARAM),
        &format!("export const LETTERS = {:?};", r::SOURCE_LETTERS),
        &format!("export const SOURCES = {};", list(&sources)),
        &format!("export const QUEUE = {STORAGE_PREFIX:?};"),
        &format!("export const BODY_FIELDS = {};", list(&BODY_FIELDS)),
        &format!("export const TRACKINGS_PATH = {TRACKINGS_PATH:?};"),
        &format!("export const ERROR_CODES = {};", list(&onramp_core::error::CODES)),
        &format!("export const TRACKING_OPTIONS = {};", list(&TRACKING_OPTIONS)),
        &format!("export const CONFIGURE_OPTIONS = {};", list(&CONFIGURE_OPTIONS)),
        &format!("export const CONSENT_OPTIONS = {};", list(&CONSENT_OPTIONS)),
        &format!("export const CONSENT_STATES = {};", list(&CONSENT_STATES)),
        &format!("export const PAGE_OPTIONS = {};", list(&PAGE_OPTIONS)),
        "",
    ]
    .join("\n")
}

/// A kept referral as the JS copy answers it: `{ s, at, until, v }`, `s`
/// the source's index in `SOURCES`.
fn kept(k: Option<Kept>) -> Value {
    k.map_or(Value::Null, |k| {
        let s = SOURCES.iter().position(|s| *s == k.referral.source).unwrap();
        let mut out = json!({ "s": s, "at": k.referral.at, "until": k.referral.until });
        if let Some(v) = k.value {
            out["v"] = json!(v);
        }
        out
    })
}

/// A small deterministic generator, so that the table is the same on
/// every build.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }

    fn text(&mut self, alphabet: &[&str], max: usize) -> String {
        (0..self.below(max + 1))
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

const NOW: i64 = 1_795_718_581_000;

fn cases() -> Value {
    let mut g = Lcg(29);
    let mut cases = Vec::new();
    let mut case = |f: &str, args: Value, out: Value| cases.push(json!({ "fn": f, "args": args, "out": out }));

    // Values: the alphabet, its edges and its neighbours.
    let chars = [
        "a", "Z", "0", "9", ".", "_", "~", "-", " ", "/", "%", ":", ",", "é", "+", "=", "\t", "<",
    ];
    let mut values: Vec<String> = vec![String::new(), "a".repeat(128), "a".repeat(129), "m-1.b_c~d".into()];
    values.extend((0..120).map(|_| g.text(&chars, 6)));
    for v in &values {
        case("valid", json!([v]), json!(r::valid_value(v)));
    }

    // Parameter names.
    let names = ["via", "ref", "token", "TOKEN", "Token", "onramp_ref", " ", "", "a b"];
    let mut attrs: Vec<Option<String>> = vec![None];
    attrs.extend((0..60).map(|_| Some(g.text(&names.map(|n| n), 2).chars().collect::<String>())));
    attrs.extend((0..60).map(|_| {
        let parts: Vec<&str> = (0..g.below(4)).map(|_| names[g.below(names.len())]).collect();
        Some(parts.join(","))
    }));
    for a in &attrs {
        case("names", json!([a]), json!(r::param_names(a.as_deref())));
    }

    // Windows.
    let mut days: Vec<Option<String>> = vec![None];
    days.extend(
        [
            "0", "1", "30", "365", "366", "", "030", "1.5", "-1", "1e2", " 7", "7 ", "abc", "999", "1000",
        ]
        .map(|d| Some(d.to_owned())),
    );
    days.extend((0..40).map(|_| Some(g.text(&["0", "1", "3", "6", "9", "5", "x"], 4))));
    for d in &days {
        case("days", json!([d]), json!(r::window_days(d.as_deref())));
    }

    // Referrer hosts.
    let hosts = [
        "market.example",
        "MARKET.example",
        "x.market.example",
        "evilmarket.example",
        "example",
        "",
    ];
    for host in hosts {
        for attr in [
            None,
            Some("market.example"),
            Some(" Market.Example , other.test"),
            Some(""),
            Some(","),
        ] {
            case("fromHosts", json!([host, attr]), json!(r::from_hosts(host, attr)));
        }
    }

    // The kept form: valid ones, and each mangled.
    let mut texts: Vec<String> = vec![
        Kept::new(Source::Param, Some("abc"), NOW, 30).encode(),
        Kept::new(Source::Referrer, None, NOW, 365).encode(),
        Kept::new(Source::Server, Some("x"), NOW, 1).encode(),
    ];
    let pieces = ["p", "r", "s", "x", ":", "1", "0", "9", "-", "a", "", " "];
    let valid = texts.clone();
    texts.extend((0..150).map(|_| {
        let base = valid[g.below(3)].clone();
        let at = g.below(base.len() + 1);
        let cut = g.below(3);
        let piece = pieces[g.below(pieces.len())];
        let end = (at + cut).min(base.len());
        format!("{}{piece}{}", &base[..at], &base[end..])
    }));
    texts.extend(
        [
            "",
            ":::",
            "p:1:2",
            "p:1:2:",
            "p:0:86400000",
            "p:1:31536000002",
            "p:1:31536000001",
        ]
        .map(String::from),
    );
    for t in &texts {
        case("decode", json!([t]), kept(Kept::decode(t)));
    }
    for k in [
        Kept::new(Source::Param, Some("abc"), NOW, 30),
        Kept::new(Source::Server, None, NOW, 7),
    ] {
        case("encode", json!([kept(Some(k.clone()))]), json!(k.encode()));
    }

    // Which of two stores counts, and whether a new referral replaces.
    let at = |d: i64| NOW + d * DAY_MS;
    let candidates = [
        None,
        Some(Kept::new(Source::Param, Some("a"), at(0), 30)),
        Some(Kept::new(Source::Referrer, None, at(1), 30)),
        Some(Kept::new(Source::Server, None, at(-40), 30)),
        Some(Kept::new(Source::Param, None, at(1), 1)),
    ];
    for a in &candidates {
        for b in &candidates {
            for now in [at(0), at(1) + 1, at(2), at(29), at(31)] {
                for touch in [Touch::First, Touch::Last] {
                    let first = touch == Touch::First;
                    case(
                        "pick",
                        json!([kept(a.clone()), kept(b.clone()), now, first]),
                        kept(r::pick(a.clone(), b.clone(), now, touch)),
                    );
                }
            }
        }
        for now in [at(0), at(29), at(31)] {
            for touch in [Touch::First, Touch::Last] {
                let first = touch == Touch::First;
                let replaces = r::replaces(a.as_ref().map(|k| &k.referral), now, touch);
                case("replaces", json!([kept(a.clone()), now, first]), json!(replaces));
            }
        }
    }
    for attribution in [None, Some("first"), Some("last"), Some("Last"), Some("")] {
        case(
            "touch",
            json!([attribution]),
            json!(r::Touch::parse(attribution) == Touch::First),
        );
    }

    // Landing pages.
    let params: [&[(&str, &str)]; 6] = [
        &[],
        &[("onramp_ref", "m-1")],
        &[
            ("utm_source", "x"),
            ("via", "bad value"),
            ("onramp_ref", "m-1"),
            ("token", "secret"),
        ],
        &[("onramp_ref", "a"), ("onramp_ref", "b")],
        &[("token", "secret"), ("via", "ok")],
        &[("via", ""), ("ref", "r~1")],
    ];
    for p in params {
        for host in ["", "portal.market.example", "search.example"] {
            for param_attr in [
                None,
                Some("via,ref"),
                Some("token"),
                Some("token,via"),
                Some("ref, onramp_ref"),
            ] {
                for hosts_attr in [None, Some("market.example")] {
                    let seen = r::sight(p, host, param_attr, hosts_attr);
                    let source = seen.source.map(|s| SOURCES.iter().position(|x| *x == s).unwrap());
                    case(
                        "sight",
                        json!([p, host, param_attr, hosts_attr]),
                        json!({ "s": source, "p": seen.param, "v": seen.value, "i": seen.ignored }),
                    );
                }
            }
        }
    }
    // The consent rule: every state the page may set, granted by the page
    // before or not, with and without Global Privacy Control respected and
    // sent.
    for state in CONSENT_STATES {
        for granted in [false, true] {
            for respect in [false, true] {
                for gpc in [false, true] {
                    let holds = consent_now(state, granted, respect, gpc);
                    case("consentNow", json!([state, granted, respect, gpc]), json!(holds));
                }
            }
        }
    }
    json!(cases)
}
