//! The `search` scenario's corpus and queries: sentences drawn from a word list with a
//! Zipf-like distribution (a few words in most messages, most words rare, as in real chats),
//! seeded through the public API, then searches paced at a fixed rate, timed by kind of query
//! and by role.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::setup::RoomPlan;
use crate::stats::{Percentiles, histogram, record};

/// About 550 words, most frequent first: chat words, then the words of orders and parcels.
const WORDS: &str = include_str!("words.txt");

/// Requests in flight while seeding.
const SEED_CONCURRENCY: usize = 128;

/// A small deterministic generator (xorshift64*): runs are repeatable and the tool needs no
/// dependency for it.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// In `0..1`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// In `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
}

/// The word list with Zipf weights: the word of rank r is drawn with weight 1/r.
pub struct Vocabulary {
    words: Vec<&'static str>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    pub fn new() -> Self {
        let words: Vec<&'static str> = WORDS.split_whitespace().collect();
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Self { words, cumulative }
    }

    fn word(&self, rng: &mut Rng) -> &'static str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let wanted = rng.unit() * total;
        let index = self.cumulative.partition_point(|&sum| sum < wanted);
        self.words[index.min(self.words.len() - 1)]
    }

    /// A message: 4 to 16 words, now and then an order reference as customers write them.
    pub fn sentence(&self, rng: &mut Rng) -> String {
        let length = 4 + rng.below(13);
        let mut words: Vec<String> = (0..length).map(|_| self.word(rng).to_owned()).collect();
        if rng.below(10) == 0 {
            words.push(format!("ORD-{}", 10_000 + rng.below(90_000)));
        }
        words.join(" ")
    }
}

/// What seeding did.
#[derive(Debug, Clone, Serialize)]
pub struct Seeded {
    pub messages: u64,
    pub failures: u64,
    /// Why sends failed: `HTTP <status> <error code>` or `transport: <error>`, with counts.
    pub failure_reasons: BTreeMap<String, u64>,
    pub secs: f64,
    pub per_sec: f64,
}

/// Why a request was refused, as a report counts it: the status and the error body's code.
async fn refusal<S>(response: &mut awc::ClientResponse<S>) -> String
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    let code = response
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|body| body["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("HTTP {} {code}", response.status().as_u16())
}

/// What a request came to: `Ok` for a 2xx answer, else why not ([`refusal`], or the transport
/// error).
async fn outcome<S>(
    sent: Result<awc::ClientResponse<S>, awc::error::SendRequestError>,
) -> Result<awc::ClientResponse<S>, String>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    match sent {
        Ok(response) if response.status().is_success() => Ok(response),
        Ok(mut response) => Err(refusal(&mut response).await),
        Err(error) => Err(format!("transport: {error}")),
    }
}

/// Sends `per_room` sentences into each room as its customer, through the REST API, spread
/// over `nodes`. Returns what was sent and a sample of the sentences (for phrase queries).
pub async fn seed(
    nodes: &[String],
    rooms: &[RoomPlan],
    per_room: usize,
    vocabulary: &Vocabulary,
) -> (Seeded, Vec<String>) {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let mut rng = Rng::new(0x5eed);
    let mut sample = Vec::new();
    let mut jobs = Vec::with_capacity(rooms.len() * per_room);
    // Round by round, so that every room grows alongside the others.
    for round in 0..per_room {
        for (index, room) in rooms.iter().enumerate() {
            let text = vocabulary.sentence(&mut rng);
            if (round * rooms.len() + index).is_multiple_of(1_000) {
                sample.push(text.clone());
            }
            let node = &nodes[index % nodes.len()];
            jobs.push((
                format!("{node}/chat/{}/messages", room.room_id),
                room.members[0].token.clone(),
                text,
            ));
        }
    }
    let started = Instant::now();
    let total = jobs.len();
    let mut failures = 0_u64;
    let mut failure_reasons = BTreeMap::new();
    let mut done = 0_usize;
    let mut sends = stream::iter(jobs)
        .map(|(url, token, text)| {
            let client = &client;
            async move {
                outcome(
                    client
                        .post(url)
                        .bearer_auth(token)
                        .send_json(&json!({ "content": text }))
                        .await,
                )
                .await
                .map(drop)
            }
        })
        .buffer_unordered(SEED_CONCURRENCY);
    while let Some(stored) = sends.next().await {
        done += 1;
        if let Err(reason) = stored {
            failures += 1;
            *failure_reasons.entry(reason).or_insert(0) += 1;
        }
        if done.is_multiple_of(100_000) {
            eprintln!(
                "search: seeded {done} of {total} messages ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let messages = total as u64 - failures;
    (
        Seeded {
            messages,
            failures,
            failure_reasons,
            secs,
            per_sec: messages as f64 / secs,
        },
        sample,
    )
}

/// The kinds of query a search box sees.
#[derive(Debug, Clone, Copy)]
enum Kind {
    OneWord,
    TwoWords,
    ThreeWords,
    Phrase,
    Prefix,
    /// Two words, best match first.
    Relevance,
}

const KINDS: [Kind; 6] = [
    Kind::OneWord,
    Kind::TwoWords,
    Kind::ThreeWords,
    Kind::Phrase,
    Kind::Prefix,
    Kind::Relevance,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::OneWord => "one_word",
            Self::TwoWords => "two_words",
            Self::ThreeWords => "three_words",
            Self::Phrase => "phrase",
            Self::Prefix => "prefix",
            Self::Relevance => "two_words_by_relevance",
        }
    }

    /// The query's parameters: `q` and, for relevance, `sort`.
    fn query(
        self,
        rng: &mut Rng,
        vocabulary: &Vocabulary,
        sample: &[String],
    ) -> Vec<(&'static str, String)> {
        let words = |rng: &mut Rng, n: usize| {
            (0..n)
                .map(|_| vocabulary.word(rng))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let q = match self {
            Self::OneWord => words(rng, 1),
            Self::TwoWords | Self::Relevance => words(rng, 2),
            Self::ThreeWords => words(rng, 3),
            Self::Phrase => {
                let sentence = &sample[rng.below(sample.len())];
                let all: Vec<&str> = sentence.split(' ').collect();
                let start = rng.below(all.len().saturating_sub(1).max(1));
                format!("\"{}\"", all[start..(start + 2).min(all.len())].join(" "))
            }
            Self::Prefix => {
                // A word being typed: its first three letters.
                let word = vocabulary.word(rng);
                word.chars().take(3).collect()
            }
        };
        let mut params = vec![("q", q), ("limit", "20".to_owned())];
        if matches!(self, Self::Relevance) {
            params.push(("sort", "relevance".to_owned()));
        }
        params
    }
}

/// Who searches: a customer (its own room) or an admin (every room).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Client,
    Admin,
}

/// What the searches measured.
#[derive(Debug, Clone, Serialize)]
pub struct SearchRun {
    pub seeded: Seeded,
    pub rooms: usize,
    pub target_per_sec: f64,
    pub searches: u64,
    pub failures: u64,
    /// Why searches failed, with counts (as [`Seeded::failure_reasons`]).
    pub failure_reasons: BTreeMap<String, u64>,
    pub searches_per_sec: f64,
    /// Every search.
    pub latency: Percentiles,
    pub client: Percentiles,
    pub admin: Percentiles,
    /// By role and kind (`admin one_word`, …).
    pub by_kind: BTreeMap<String, Percentiles>,
    /// Mean results on a page.
    pub mean_results: f64,
}

/// One search's outcome.
struct Timed {
    label: String,
    role: Role,
    micros: u64,
    results: Result<usize, String>,
}

/// Searches `rate` times a second for `duration`, kinds and roles in turn; a client searches
/// as the customer of a random seeded room, an admin across every room.
pub async fn measure(
    node: &str,
    rooms: &[RoomPlan],
    admin_token: &str,
    rate: f64,
    duration: Duration,
    vocabulary: &Vocabulary,
    sample: &[String],
) -> (u64, BTreeMap<String, u64>, f64, Histograms) {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let (sender, mut receiver) = mpsc::unbounded_channel::<Timed>();
    let mut rng = Rng::new(0x5ea2c4);
    let started = Instant::now();
    let mut launched = 0_u64;
    while started.elapsed() < duration {
        let kind = KINDS[(launched as usize / 2) % KINDS.len()];
        let role = if launched.is_multiple_of(2) {
            Role::Client
        } else {
            Role::Admin
        };
        let token = match role {
            Role::Client => rooms[rng.below(rooms.len())].members[0].token.clone(),
            Role::Admin => admin_token.to_owned(),
        };
        let params = kind.query(&mut rng, vocabulary, sample);
        let query = params
            .iter()
            .map(|(name, value)| format!("{name}={}", escape(value)))
            .collect::<Vec<_>>()
            .join("&");
        let url = format!("{node}/search/messages?{query}");
        let label = format!(
            "{} {}",
            if role == Role::Client {
                "client"
            } else {
                "admin"
            },
            kind.name()
        );
        let client = client.clone();
        let sender = sender.clone();
        actix_web::rt::spawn(async move {
            let asked = Instant::now();
            let results = match outcome(client.get(url).bearer_auth(token).send().await).await {
                Ok(mut response) => response
                    .json::<serde_json::Value>()
                    .limit(4 << 20)
                    .await
                    .ok()
                    .and_then(|page| page["items"].as_array().map(Vec::len))
                    .ok_or_else(|| "an answer without items".to_owned()),
                Err(reason) => Err(reason),
            };
            let micros = asked.elapsed().as_micros() as u64;
            let _ = sender.send(Timed {
                label,
                role,
                micros,
                results,
            });
        });
        launched += 1;
        tokio::time::sleep_until(started + Duration::from_secs_f64(launched as f64 / rate)).await;
    }
    drop(sender);
    let mut histograms = Histograms::default();
    let mut failures = BTreeMap::new();
    let mut results = 0_u64;
    let mut answered = 0_u64;
    while let Some(timed) = receiver.recv().await {
        match &timed.results {
            Ok(count) => {
                results += *count as u64;
                answered += 1;
                histograms.record(&timed);
            }
            Err(reason) => *failures.entry(reason.clone()).or_insert(0) += 1,
        }
    }
    let mean = if answered > 0 {
        results as f64 / answered as f64
    } else {
        0.0
    };
    (launched, failures, mean, histograms)
}

/// Latencies of the searches that answered.
pub struct Histograms {
    all: Histogram<u64>,
    client: Histogram<u64>,
    admin: Histogram<u64>,
    by_kind: BTreeMap<String, Histogram<u64>>,
}

impl Default for Histograms {
    fn default() -> Self {
        Self {
            all: histogram(),
            client: histogram(),
            admin: histogram(),
            by_kind: BTreeMap::new(),
        }
    }
}

impl Histograms {
    fn record(&mut self, timed: &Timed) {
        record(&mut self.all, timed.micros);
        match timed.role {
            Role::Client => record(&mut self.client, timed.micros),
            Role::Admin => record(&mut self.admin, timed.micros),
        }
        let kind = self
            .by_kind
            .entry(timed.label.clone())
            .or_insert_with(histogram);
        record(kind, timed.micros);
    }

    /// The run's report section.
    #[expect(
        clippy::too_many_arguments,
        reason = "one report assembled from its parts"
    )]
    pub fn into_run(
        self,
        seeded: Seeded,
        rooms: usize,
        rate: f64,
        searches: u64,
        failure_reasons: BTreeMap<String, u64>,
        secs: f64,
        mean_results: f64,
    ) -> SearchRun {
        SearchRun {
            seeded,
            rooms,
            target_per_sec: rate,
            searches,
            failures: failure_reasons.values().sum(),
            failure_reasons,
            searches_per_sec: searches as f64 / secs.max(f64::EPSILON),
            latency: Percentiles::of(&self.all),
            client: Percentiles::of(&self.client),
            admin: Percentiles::of(&self.admin),
            by_kind: self
                .by_kind
                .iter()
                .map(|(label, histogram)| (label.clone(), Percentiles::of(histogram)))
                .collect(),
            mean_results,
        }
    }
}

/// `value` escaped for a query string.
fn escape(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
