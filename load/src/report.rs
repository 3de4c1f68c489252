//! Results: one row per figure (Tandem, the baseline measured in the same
//! run, the ratio, the target), checks of correctness, the median and range
//! over repeated runs, printed as a Markdown table and optionally as JSON.

use serde::Serialize;

/// One figure of one measurement.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Row {
    /// The measurement, e.g. "messages, 100 pairs".
    pub(crate) measurement: String,
    /// What is measured, with its unit, e.g. "messages/s".
    pub(crate) metric: String,
    /// Tandem's number (median over runs).
    pub(crate) tandem: f64,
    /// Lowest and highest Tandem number over runs.
    pub(crate) tandem_range: (f64, f64),
    /// The baseline's name, e.g. "raw forwarder".
    pub(crate) baseline_name: String,
    /// The baseline measured in the same run (median), when there is one.
    pub(crate) baseline: Option<f64>,
    /// Lowest and highest baseline number over runs.
    pub(crate) baseline_range: Option<(f64, f64)>,
    /// Tandem ÷ baseline (median of the runs' ratios).
    pub(crate) ratio: Option<f64>,
    /// Lowest and highest ratio over runs.
    pub(crate) ratio_range: Option<(f64, f64)>,
    /// The target, in words, when the row has one.
    pub(crate) target: Option<String>,
    /// Whether the target is met (by the median).
    pub(crate) met: Option<bool>,
    /// Runs aggregated.
    pub(crate) runs: usize,
    /// How `met` is judged again after aggregation.
    #[serde(skip)]
    target_kind: Option<Target>,
}

/// How a row's target is judged.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// Tandem ÷ baseline at least this.
    RatioAtLeast(f64),
    /// Tandem ÷ baseline at most this.
    RatioAtMost(f64),
    /// Tandem's number at most this.
    AtMost(f64),
}

impl Target {
    fn describe(self, unit: &str) -> String {
        match self {
            Target::RatioAtLeast(r) => format!("ratio ≥ {r}"),
            Target::RatioAtMost(r) => format!("ratio ≤ {r}"),
            Target::AtMost(v) => format!("≤ {v} {unit}"),
        }
    }

    fn met(self, tandem: f64, ratio: Option<f64>) -> Option<bool> {
        match self {
            Target::RatioAtLeast(r) => ratio.map(|x| x >= r),
            Target::RatioAtMost(r) => ratio.map(|x| x <= r),
            Target::AtMost(v) => Some(tandem <= v),
        }
    }
}

impl Row {
    /// A row with a baseline.
    pub(crate) fn new(
        measurement: impl Into<String>,
        metric: impl Into<String>,
        tandem: f64,
        baseline_name: impl Into<String>,
        baseline: Option<f64>,
    ) -> Self {
        let ratio = baseline.filter(|b| *b > 0.0).map(|b| tandem / b);
        Self {
            measurement: measurement.into(),
            metric: metric.into(),
            tandem,
            tandem_range: (tandem, tandem),
            baseline_name: baseline_name.into(),
            baseline,
            baseline_range: baseline.map(|b| (b, b)),
            ratio,
            ratio_range: ratio.map(|r| (r, r)),
            target: None,
            met: None,
            runs: 1,
            target_kind: None,
        }
    }

    /// A row without a baseline.
    pub(crate) fn alone(
        measurement: impl Into<String>,
        metric: impl Into<String>,
        tandem: f64,
    ) -> Self {
        Self::new(measurement, metric, tandem, "", None)
    }

    /// Sets the target for this row.
    pub(crate) fn target(mut self, target: Target) -> Self {
        let unit = self.metric.rsplit(' ').next().unwrap_or("").to_owned();
        self.target = Some(target.describe(&unit));
        self.met = target.met(self.tandem, self.ratio);
        self.target_kind = Some(target);
        self
    }
}

/// A correctness check (never a speed): e.g. every message acknowledged
/// exactly once.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Check {
    /// What was checked.
    pub(crate) name: String,
    /// Whether it held.
    pub(crate) ok: bool,
    /// The counts behind it.
    pub(crate) detail: String,
}

impl Check {
    pub(crate) fn new(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok,
            detail: detail.into(),
        }
    }
}

/// What one run of one measurement produced.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) rows: Vec<Row>,
    pub(crate) checks: Vec<Check>,
    pub(crate) notes: Vec<String>,
}

impl Outcome {
    pub(crate) fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub(crate) fn check(&mut self, check: Check) {
        self.checks.push(check);
    }

    pub(crate) fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// Everything printed at the end.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) rows: Vec<Row>,
    pub(crate) checks: Vec<Check>,
    pub(crate) notes: Vec<String>,
}

impl Report {
    /// Adds the runs of one measurement: rows with the same measurement,
    /// metric and baseline become one, with medians and ranges.
    pub(crate) fn add_runs(&mut self, runs: Vec<Outcome>) {
        let mut order: Vec<(String, String, String)> = Vec::new();
        let mut groups: Vec<Vec<Row>> = Vec::new();
        for outcome in runs {
            for row in outcome.rows {
                let key = (
                    row.measurement.clone(),
                    row.metric.clone(),
                    row.baseline_name.clone(),
                );
                match order.iter().position(|k| *k == key) {
                    Some(i) => groups[i].push(row),
                    None => {
                        order.push(key);
                        groups.push(vec![row]);
                    }
                }
            }
            self.checks.extend(outcome.checks);
            for note in outcome.notes {
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
        }
        for group in groups {
            self.rows.push(aggregate(group));
        }
    }

    /// The Markdown tables.
    pub(crate) fn print(&self) {
        println!();
        println!(
            "| measurement | metric | Tandem [range] | baseline | baseline [range] | Tandem ÷ baseline [range] | target | met | runs |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        for row in &self.rows {
            println!(
                "| {} | {} | {} {} | {} | {} | {} | {} | {} | {} |",
                row.measurement,
                row.metric,
                number(row.tandem),
                range(Some(row.tandem_range), row.runs),
                if row.baseline.is_some() {
                    row.baseline_name.as_str()
                } else {
                    "—"
                },
                row.baseline
                    .map(|b| format!("{} {}", number(b), range(row.baseline_range, row.runs)))
                    .unwrap_or_else(|| "—".into()),
                row.ratio
                    .map(|r| format!("**{r:.2}** {}", ratio_range(row.ratio_range, row.runs)))
                    .unwrap_or_else(|| "—".into()),
                row.target.as_deref().unwrap_or(""),
                match row.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "",
                },
                row.runs,
            );
        }
        if !self.checks.is_empty() {
            println!();
            for check in &self.checks {
                println!(
                    "check {}: {} ({})",
                    if check.ok { "ok" } else { "FAILED" },
                    check.name,
                    check.detail
                );
            }
        }
        if !self.notes.is_empty() {
            println!();
            for note in &self.notes {
                println!("note: {note}");
            }
        }
    }

    /// One JSON object on one line.
    pub(crate) fn print_json(&self) -> Result<(), serde_json::Error> {
        println!("{}", serde_json::to_string(self)?);
        Ok(())
    }

    /// Whether every check held.
    pub(crate) fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

fn aggregate(mut group: Vec<Row>) -> Row {
    let runs = group.len();
    let tandems: Vec<f64> = group.iter().map(|r| r.tandem).collect();
    let baselines: Vec<f64> = group.iter().filter_map(|r| r.baseline).collect();
    let ratios: Vec<f64> = group.iter().filter_map(|r| r.ratio).collect();
    let target = group.iter().find_map(|r| r.target_kind);
    let Some(mut row) = group.pop() else {
        return Row::alone("", "", 0.0);
    };
    row.runs = runs;
    row.tandem = median(&tandems);
    row.tandem_range = min_max(&tandems);
    if !baselines.is_empty() {
        row.baseline = Some(median(&baselines));
        row.baseline_range = Some(min_max(&baselines));
    }
    if !ratios.is_empty() {
        row.ratio = Some(median(&ratios));
        row.ratio_range = Some(min_max(&ratios));
    }
    if let Some(target) = target {
        row.met = target.met(row.tandem, row.ratio);
    }
    row
}

/// The median (the mean of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// A number with three significant digits (more for large integers).
pub(crate) fn number(value: f64) -> String {
    let abs = value.abs();
    if abs >= 1000.0 {
        let whole = value.round() as i64;
        group_thousands(whole)
    } else if abs >= 100.0 {
        format!("{value:.0}")
    } else if abs >= 10.0 {
        format!("{value:.1}")
    } else if abs >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 { format!("-{out}") } else { out }
}

fn range(range: Option<(f64, f64)>, runs: usize) -> String {
    match range {
        Some((lo, hi)) if runs > 1 => format!("[{}–{}]", number(lo), number(hi)),
        _ => String::new(),
    }
}

fn ratio_range(range: Option<(f64, f64)>, runs: usize) -> String {
    match range {
        Some((lo, hi)) if runs > 1 => format!("[{lo:.2}–{hi:.2}]"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_aggregate_to_medians_and_ranges() {
        let run = |t: f64, b: f64| Outcome {
            rows: vec![Row::new("m", "x/s", t, "raw", Some(b)).target(Target::RatioAtLeast(0.5))],
            ..Outcome::default()
        };
        let mut report = Report::default();
        report.add_runs(vec![run(1.0, 4.0), run(3.0, 4.0), run(2.0, 2.0)]);
        let row = &report.rows[0];
        assert_eq!(row.runs, 3);
        assert_eq!(row.tandem, 2.0);
        assert_eq!(row.tandem_range, (1.0, 3.0));
        assert_eq!(row.ratio, Some(0.75));
        assert_eq!(row.met, Some(true));
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(0.01234), "0.012");
    }
}
