//! Bar charts as SVG drawn on the server: a picture per series, no script, no library, and
//! the numbers stay in the page as text for screen readers (each bar has a `<title>`, and
//! the figure a table-like summary).

/// The drawing's width and the bars' height, in SVG units.
const WIDTH: u32 = 300;
const HEIGHT: u32 = 100;

/// One day's bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height (0 for a zero day).
    pub height: u32,
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// The count.
    pub value: i64,
}

/// One series drawn as bars.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The caption.
    pub title: &'static str,
    /// Element id (for `aria-describedby`).
    pub id: &'static str,
    /// The bars, oldest day first.
    pub bars: Vec<Bar>,
    /// The largest count (the top of the scale).
    pub max: i64,
    /// The sum over the range.
    pub total: i64,
    /// Drawn in the failure colour.
    pub bad: bool,
    /// The first and last day, for the axis labels.
    pub first: String,
    /// See `first`.
    pub last: String,
}

/// A chart of `days` (day, count), scaled so the largest count fills the height.
pub fn chart(title: &'static str, id: &'static str, days: &[(String, i64)], bad: bool) -> Chart {
    let max = days.iter().map(|(_, v)| *v).max().unwrap_or(0).max(0);
    let n = u32::try_from(days.len()).unwrap_or(1).max(1);
    let slot = WIDTH / n;
    let width = slot.saturating_sub(1).max(1);
    let bars = days
        .iter()
        .zip(0u32..)
        .map(|((day, value), i)| {
            let height = if max == 0 {
                0
            } else {
                // A non-zero day is at least one unit tall, so it never reads as none.
                let h = (value.max(&0) * i64::from(HEIGHT)) / max;
                u32::try_from(h)
                    .unwrap_or(HEIGHT)
                    .max(u32::from(*value > 0))
            };
            Bar {
                x: i * slot,
                y: HEIGHT - height,
                width,
                height,
                day: day.clone(),
                value: *value,
            }
        })
        .collect();
    Chart {
        title,
        id,
        bars,
        max,
        total: days.iter().map(|(_, v)| *v).sum(),
        bad,
        first: days.first().map(|d| d.0.clone()).unwrap_or_default(),
        last: days.last().map(|d| d.0.clone()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(values: &[i64]) -> Vec<(String, i64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("2026-11-{:02}", i + 1), *v))
            .collect()
    }

    #[test]
    fn the_largest_day_fills_the_height_and_others_scale() {
        let c = chart("Logins", "logins", &days(&[0, 5, 10]), false);
        assert_eq!(c.max, 10);
        assert_eq!(c.total, 15);
        let heights: Vec<u32> = c.bars.iter().map(|b| b.height).collect();
        assert_eq!(heights, [0, 50, 100]);
        assert_eq!(c.bars[2].y, 0);
        assert_eq!(c.bars[1].x, 100);
        assert_eq!(
            (c.first.as_str(), c.last.as_str()),
            ("2026-11-01", "2026-11-03")
        );
    }

    #[test]
    fn a_small_day_is_still_visible_and_an_empty_range_draws_nothing() {
        let c = chart("Failures", "failures", &days(&[1, 1000]), true);
        assert_eq!(c.bars[0].height, 1);
        let empty = chart("Sign-ups", "signups", &days(&[0, 0]), false);
        assert!(empty.bars.iter().all(|b| b.height == 0 && b.y == HEIGHT));
        assert_eq!(chart("x", "x", &[], false).bars.len(), 0);
    }
}
