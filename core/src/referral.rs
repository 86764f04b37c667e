//! Marketplace attribution: which visitor the marketplace sent, and for how
//! long that counts. The loader captures a referral in JS on any page with
//! the snippet (the address, the referrer, the provider's server); the
//! rules it follows are these, reaching the JS through the table the build
//! generates from this module (`core/examples/js-rules.rs`) and held to it
//! by one table of cases that both run (`tests/e2e/referral.test.mjs`).
//! The gate at signup is the engine's ([`gate`], in
//! [`crate::engine::Engine::call`]).
//!
//! A referral is kept as `source:at:until[:value]` (epoch milliseconds,
//! [`Kept`]), in the origin's `localStorage` and, where the provider names
//! a cookie domain, in a first-party cookie. The page reads it and hands
//! the engine the [`Referral`] (source and times) for its gate.

/// The query parameter read when the page names none.
pub const DEFAULT_PARAM: &str = "onramp_ref";
/// A parameter never read or stored, whatever the configuration: a
/// marketplace's `?token=` is a live credential (Azure's landing page).
pub const NEVER_READ: &str = "token";
/// The longest referral value kept.
pub const MAX_VALUE_LEN: usize = 128;
/// The characters of a referral value besides ASCII letters and digits.
pub const VALUE_PUNCTUATION: &str = "._~-";
/// How many days a referral counts when the page names no window.
pub const DEFAULT_DAYS: u32 = 30;
/// The shortest window, in days.
pub const MIN_DAYS: u32 = 1;
/// The longest window, in days.
pub const MAX_DAYS: u32 = 365;
/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// The `localStorage` key and the cookie's name of the kept referral.
pub const STORAGE_KEY: &str = "onramp_ref";
/// The query parameter that switches debug mode on for one page.
pub const DEBUG_PARAM: &str = "onramp_debug";

/// How the marketplace's referral reached the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A query parameter of the landing page's address.
    Param,
    /// The page was opened from a marketplace host (`document.referrer`).
    Referrer,
    /// The provider's server said so (`onramp('referral', value)`).
    Server,
}

/// Every source, in the order of their letters in [`SOURCE_LETTERS`].
pub const SOURCES: [Source; 3] = [Source::Param, Source::Referrer, Source::Server];
/// Each source's letter in a kept referral.
pub const SOURCE_LETTERS: &str = "prs";

impl Source {
    /// The name the result's `referral.source` gives it.
    pub const fn name(self) -> &'static str {
        match self {
            Source::Param => "param",
            Source::Referrer => "referrer",
            Source::Server => "server",
        }
    }

    /// Its letter in a kept referral.
    pub const fn letter(self) -> char {
        match self {
            Source::Param => 'p',
            Source::Referrer => 'r',
            Source::Server => 's',
        }
    }

    fn from_letter(letter: &str) -> Option<Source> {
        SOURCES
            .into_iter()
            .find(|s| letter.len() == 1 && letter.starts_with(s.letter()))
    }

    /// The source at `index` of [`SOURCES`] (as the page hands it over).
    pub fn from_index(index: u32) -> Option<Source> {
        SOURCES.get(index as usize).copied()
    }
}

/// Which referral counts when a visitor is referred twice in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touch {
    /// The first one: a kept referral that has not expired stays (the default).
    First,
    /// The latest one replaces what was kept.
    Last,
}

impl Touch {
    /// `data-attribution`: `last`, anything else `first`.
    pub fn parse(text: Option<&str>) -> Touch {
        match text {
            Some("last") => Touch::Last,
            _ => Touch::First,
        }
    }
}

/// A visitor's referral: how it came and when it counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Referral {
    /// How it came.
    pub source: Source,
    /// When it was captured (epoch ms).
    pub at: i64,
    /// When it stops counting (epoch ms).
    pub until: i64,
}

/// A referral as the page keeps it, with the parameter's or the server's
/// value when there was one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// The referral.
    pub referral: Referral,
    /// The value.
    pub value: Option<String>,
}

/// Whether `value` is a referral value: 1 to [`MAX_VALUE_LEN`] characters
/// of `A–Z a–z 0–9 . _ ~ -`.
pub fn valid_value(value: &str) -> bool {
    (1..=MAX_VALUE_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || VALUE_PUNCTUATION.as_bytes().contains(&b))
}

/// The parameter names of `data-referral-param` (comma-separated; the
/// default when absent or empty), without any spelling of `token` (as
/// JavaScript's `toLowerCase` spells it).
pub fn param_names(attribute: Option<&str>) -> Vec<&str> {
    let names: Vec<&str> = attribute
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let names = if names.is_empty() { vec![DEFAULT_PARAM] } else { names };
    names.into_iter().filter(|n| n.to_lowercase() != NEVER_READ).collect()
}

/// The window of `data-referral-days`: a whole number from [`MIN_DAYS`] to
/// [`MAX_DAYS`]; [`DEFAULT_DAYS`] when absent; `None` when it is anything
/// else (the page is told, and the default counts).
pub fn window_days(attribute: Option<&str>) -> Option<u32> {
    let Some(text) = attribute else {
        return Some(DEFAULT_DAYS);
    };
    if text.len() > 3 || text.starts_with(['-', '0']) {
        return None;
    }
    crate::text::parse_integer(text)
        .and_then(|d| u32::try_from(d).ok())
        .filter(|d| (MIN_DAYS..=MAX_DAYS).contains(d))
}

/// Whether a page opened from `referrer_host` was sent by one of the hosts
/// of `data-referrer-hosts` (comma-separated): the host itself or any
/// subdomain of it, compared without regard to case (JavaScript's
/// `toLowerCase`).
pub fn from_hosts(referrer_host: &str, attribute: Option<&str>) -> bool {
    let host = referrer_host.to_lowercase();
    attribute.unwrap_or("").split(',').any(|h| {
        let h = h.trim().to_lowercase();
        !h.is_empty() && (host == h || host.strip_suffix(h.as_str()).is_some_and(|rest| rest.ends_with('.')))
    })
}

/// What a page shows of a referral as the visitor arrives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sighting<'a> {
    /// Where the referral came from; `None` when the page shows none.
    pub source: Option<Source>,
    /// The query parameter it came in (the address bar drops it once kept).
    pub param: Option<&'a str>,
    /// The parameter's value.
    pub value: Option<&'a str>,
    /// Parameters named by the page whose value breaks the rules: ignored,
    /// never kept, left in the address.
    pub ignored: Vec<&'a str>,
}

/// Reads a landing page: the first of the page's parameter names (in the
/// order of `data-referral-param`) present in the address with a valid
/// value (`params` as `URLSearchParams` lists them, decoded; the first of
/// a repeated name counts), else a referrer host of `data-referrer-hosts`.
pub fn sight<'a>(
    params: &[(&'a str, &'a str)],
    referrer_host: &str,
    param_attribute: Option<&'a str>,
    hosts_attribute: Option<&str>,
) -> Sighting<'a> {
    let mut sighting = Sighting::default();
    for name in param_names(param_attribute) {
        let Some((param, value)) = params.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        if valid_value(value) {
            sighting.source = Some(Source::Param);
            sighting.param = Some(param);
            sighting.value = Some(value);
            return sighting;
        }
        sighting.ignored.push(param);
    }
    if !referrer_host.is_empty() && from_hosts(referrer_host, hosts_attribute) {
        sighting.source = Some(Source::Referrer);
    }
    sighting
}

impl Referral {
    /// Whether it counts at `now`.
    pub fn active(&self, now: i64) -> bool {
        now < self.until
    }
}

impl Kept {
    /// A referral seen at `now`, kept for `days`.
    pub fn new(source: Source, value: Option<&str>, now: i64, days: u32) -> Kept {
        Kept {
            referral: Referral {
                source,
                at: now,
                until: now.saturating_add(i64::from(days) * DAY_MS),
            },
            value: value.map(str::to_owned),
        }
    }

    /// Its kept form, `source:at:until[:value]`.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        text.push(self.referral.source.letter());
        for part in [self.referral.at, self.referral.until] {
            text.push(':');
            text.push_str(&crate::text::decimal(part));
        }
        if let Some(value) = &self.value {
            text.push(':');
            text.push_str(value);
        }
        text
    }

    /// Reads a kept referral; `None` for anything that is not one (a
    /// window longer than [`MAX_DAYS`], a value outside the rules).
    pub fn decode(text: &str) -> Option<Kept> {
        let mut parts = crate::text::split(text, b':');
        let source = Source::from_letter(parts.next()?)?;
        let at = millis(parts.next()?)?;
        let until = millis(parts.next()?)?;
        let value = parts.next();
        if parts.next().is_some()
            || until <= at
            || until - at > i64::from(MAX_DAYS) * DAY_MS
            || value.is_some_and(|v| !valid_value(v))
        {
            return None;
        }
        Some(Kept {
            referral: Referral { source, at, until },
            value: value.map(str::to_owned),
        })
    }
}

/// Epoch milliseconds: 1 to 15 digits, nothing else.
fn millis(text: &str) -> Option<i64> {
    if text.len() > 15 || text.starts_with('-') {
        return None;
    }
    crate::text::parse_integer(text)
}

/// Whether a referral seen now is kept over what is kept already: always
/// with last touch; with first touch only when nothing kept still counts.
pub fn replaces(kept: Option<&Referral>, now: i64, touch: Touch) -> bool {
    touch == Touch::Last || !kept.is_some_and(|k| k.active(now))
}

/// Of the referral kept in `localStorage` and the one in the cookie, the
/// one that counts at `now`: with first touch the earlier, with last touch
/// the later.
pub fn pick(stored: Option<Kept>, cookie: Option<Kept>, now: i64, touch: Touch) -> Option<Kept> {
    let [a, b] = [stored, cookie].map(|k| k.filter(|k| k.referral.active(now)));
    match (a, b) {
        (Some(a), Some(b)) => {
            let b_first = b.referral.at < a.referral.at;
            Some(if b_first == (touch == Touch::First) { b } else { a })
        }
        (a, b) => a.or(b),
    }
}

/// Why a tracking was skipped by the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// `requireReferral` is on and the visitor has no referral that counts.
    NotReferred,
}

impl Skip {
    /// The result's `skipped`.
    pub const fn name(self) -> &'static str {
        match self {
            Skip::NotReferred => "not_referred",
        }
    }
}

/// The gate at signup: the visitor's kept referral (as the page read it)
/// when it counts at `now`; with `require`, no referral that counts skips
/// the tracking.
pub fn gate(require: bool, kept: Option<Referral>, now: i64) -> Result<Option<Referral>, Skip> {
    match kept.filter(|r| r.active(now)) {
        Some(referral) => Ok(Some(referral)),
        None if require => Err(Skip::NotReferred),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_718_581_000;

    #[test]
    fn kept_times_are_1_to_15_digits() {
        let at = 100_000_000_000_000; // 15 digits
        assert_eq!(
            Kept::decode(&format!("p:{at}:{}", at + DAY_MS)).map(|k| k.referral.at),
            Some(at)
        );
        let at = 1_000_000_000_000_000; // 16
        assert_eq!(Kept::decode(&format!("p:{at}:{}", at + DAY_MS)), None);
    }

    #[test]
    fn of_two_kept_at_the_same_time_first_touch_keeps_local_storage_s_and_last_the_cookie_s() {
        let stored = Kept::new(Source::Param, Some("stored"), NOW - DAY_MS, 30);
        let cookie = Kept::new(Source::Referrer, Some("cookie"), NOW - DAY_MS, 30);
        let pick = |touch| pick(Some(stored.clone()), Some(cookie.clone()), NOW, touch).and_then(|k| k.value);
        assert_eq!(pick(Touch::First).as_deref(), Some("stored"));
        assert_eq!(pick(Touch::Last).as_deref(), Some("cookie"));
    }

    #[test]
    fn a_skip_and_a_source_are_named_as_the_result_says_them() {
        assert_eq!(Skip::NotReferred.name(), "not_referred");
        let names = SOURCES.map(Source::name);
        assert_eq!(names, ["param", "referrer", "server"]);
    }

    #[test]
    fn a_window_is_written_without_leading_zeros_and_kept_at_most_365_days() {
        assert_eq!(window_days(Some("30")), Some(30));
        assert_eq!(window_days(Some("030")), None);
        let at = NOW;
        let kept = |days: i64| Kept::decode(&format!("p:{at}:{}", at + days * DAY_MS)).is_some();
        assert!(kept(365));
        assert!(!kept(366));
    }

    #[test]
    fn a_referrer_counts_only_from_the_pages_hosts() {
        let seen = sight(&[], "other.example", None, Some("market.example"));
        assert_eq!(seen.source, None);
        let seen = sight(&[], "www.market.example", None, Some("market.example"));
        assert_eq!(seen.source, Some(Source::Referrer));
    }

    #[test]
    fn values() {
        assert!(valid_value("mkt-123_a.b~c"));
        assert!(valid_value(&"a".repeat(128)));
        for bad in ["", "a b", "é", "a/b", "a%20", "a:b", "a,b", "<x>"] {
            assert!(!valid_value(bad), "{bad}");
        }
        assert!(!valid_value(&"a".repeat(129)));
    }

    #[test]
    fn names_never_include_token() {
        assert_eq!(param_names(None), ["onramp_ref"]);
        assert_eq!(param_names(Some(" , ")), ["onramp_ref"]);
        assert_eq!(param_names(Some("via, ref")), ["via", "ref"]);
        assert_eq!(param_names(Some("token,TOKEN,Token,via")), ["via"]);
        assert!(param_names(Some("token")).is_empty());
    }

    #[test]
    fn windows() {
        assert_eq!(window_days(None), Some(30));
        assert_eq!(window_days(Some("1")), Some(1));
        assert_eq!(window_days(Some("365")), Some(365));
        for bad in ["0", "366", "", "30.5", "-1", "1e2", " 30", "0030"] {
            assert_eq!(window_days(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn hosts() {
        let hosts = Some("azuremarketplace.microsoft.com, Marketplace.Example");
        assert!(from_hosts("azuremarketplace.microsoft.com", hosts));
        assert!(from_hosts("portal.azuremarketplace.microsoft.com", hosts));
        assert!(from_hosts("marketplace.example", hosts));
        assert!(!from_hosts("evilazuremarketplace.microsoft.com", hosts));
        assert!(!from_hosts("microsoft.com", hosts));
        assert!(!from_hosts("marketplace.example", None));
        assert!(!from_hosts("", Some("")));
    }

    #[test]
    fn kept_form_round_trips() {
        let r = Kept::new(Source::Param, Some("abc"), NOW, 30);
        assert_eq!(r.encode(), "p:1795718581000:1798310581000:abc");
        assert_eq!(Kept::decode(&r.encode()), Some(r));
        let r = Kept::new(Source::Referrer, None, NOW, 1);
        assert_eq!(Kept::decode(&r.encode()), Some(r));
        for bad in [
            "",
            "x:1:2",
            "p:2:1",
            "p:1",
            "p:1:2:a b",
            "p:1:2:a:b",
            "p:-1:2",
            "pp:1:2",
            "p:0:31536000001",
        ] {
            assert_eq!(Kept::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn first_and_last_touch() {
        let kept = Kept::new(Source::Param, None, NOW, 30).referral;
        assert!(!replaces(Some(&kept), NOW + DAY_MS, Touch::First));
        assert!(replaces(Some(&kept), NOW + DAY_MS, Touch::Last));
        assert!(replaces(Some(&kept), NOW + 30 * DAY_MS, Touch::First));
        assert!(replaces(None, NOW, Touch::First));
        assert_eq!(Touch::parse(Some("last")), Touch::Last);
        assert_eq!(Touch::parse(Some("LAST")), Touch::First);
    }

    #[test]
    fn the_gate() {
        let kept = Kept::new(Source::Server, None, NOW, 30).referral;
        assert_eq!(gate(true, Some(kept), NOW + DAY_MS), Ok(Some(kept)));
        assert_eq!(gate(true, Some(kept), NOW + 30 * DAY_MS), Err(Skip::NotReferred));
        assert_eq!(gate(true, None, NOW), Err(Skip::NotReferred));
        assert_eq!(gate(false, None, NOW), Ok(None));
        assert_eq!(gate(false, Some(kept), NOW + 31 * DAY_MS), Ok(None));
        assert_eq!(Source::from_index(1), Some(Source::Referrer));
        assert_eq!(Source::from_index(3), None);
    }

    #[test]
    fn picks_by_touch() {
        let early = Kept::new(Source::Param, None, NOW, 30);
        let late = Kept::new(Source::Referrer, None, NOW + DAY_MS, 30);
        let now = NOW + 2 * DAY_MS;
        let both = || (Some(early.clone()), Some(late.clone()));
        assert_eq!(pick(both().0, both().1, now, Touch::First), Some(early.clone()));
        assert_eq!(pick(both().0, both().1, now, Touch::Last), Some(late.clone()));
        assert_eq!(pick(both().1, both().0, now, Touch::First), Some(early.clone()));
        assert_eq!(pick(None, both().1, now, Touch::First), Some(late.clone()));
        assert_eq!(pick(both().0, None, NOW + 30 * DAY_MS, Touch::First), None);
    }

    #[test]
    fn sightings() {
        let params = [
            ("utm_source", "x"),
            ("via", "bad value"),
            ("onramp_ref", "m-1"),
            ("token", "secret"),
        ];
        let seen = sight(&params, "", None, None);
        assert_eq!(
            (seen.source, seen.param, seen.value),
            (Some(Source::Param), Some("onramp_ref"), Some("m-1"))
        );
        let seen = sight(&params, "", Some("via,onramp_ref"), None);
        assert_eq!((seen.param, seen.ignored), (Some("onramp_ref"), vec!["via"]));
        let seen = sight(&params, "", Some("token"), None);
        assert_eq!(seen, Sighting::default());
        let seen = sight(&params, "portal.market.example", Some("via"), Some("market.example"));
        assert_eq!(
            (seen.source, seen.param, seen.ignored),
            (Some(Source::Referrer), None, vec!["via"])
        );
        assert_eq!(
            sight(&[("onramp_ref", "a"), ("onramp_ref", "b")], "", None, None).value,
            Some("a")
        );
    }
}
