//! The admins' daily-report chart: the last days' new users, paying subscribers and vacancies
//! as three lines on one PNG, drawn in-process.
//!
//! Why this way: the report goes out from a fresh machine that has no system fonts and no
//! fontconfig, and its labels are Russian. So plotters draws with its `ab_glyph` text backend
//! (which only knows the fonts registered with it, never the system's) and the one font it gets
//! is DejaVu Sans, embedded in the binary by the `dejavu` crate, which covers Cyrillic. Pixels
//! go into an in-memory RGB buffer and the `png` crate encodes it, so nothing touches the disk.

use std::sync::OnceLock;

use anyhow::Context as _;
use chrono::Datelike as _;
use plotters::prelude::*;
use plotters::style::register_font;

/// One day's figures on the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFigures {
    pub day: chrono::NaiveDate,
    pub new_users: u64,
    pub paying_subscribers: u64,
    pub vacancies: u64,
}

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 700;
const RGB_BYTES_PER_PIXEL: usize = 3;

const TITLE: &str = "Последние 14 дней";

/// The family every text on the chart asks for. It is plotters' own default family name, so
/// the texts plotters styles by itself (tick labels, legend) find our font under it as well.
const FONT_FAMILY: &str = "sans-serif";
const TITLE_FONT_SIZE: u32 = 36;
const LABEL_FONT_SIZE: u32 = 16;
const LEGEND_FONT_SIZE: u32 = 18;

const CHART_MARGIN: u32 = 20;
const X_LABEL_AREA_SIZE: u32 = 40;
const Y_LABEL_AREA_SIZE: u32 = 70;

const LINE_WIDTH: u32 = 2;
const POINT_RADIUS: u32 = 4;
const LEGEND_SAMPLE_LENGTH: i32 = 24;
/// Past this many dates on the x axis the labels would overlap; plotters then labels every
/// 2nd or 5th day instead.
const MAX_DATE_LABELS: usize = 31;

const NEW_USERS_COLOR: RGBColor = RGBColor(31, 119, 180);
const PAYING_SUBSCRIBERS_COLOR: RGBColor = RGBColor(44, 160, 44);
const VACANCIES_COLOR: RGBColor = RGBColor(255, 127, 14);
const BACKGROUND_COLOR: RGBColor = WHITE;

/// One line of the chart: its legend, its colour, and which figure of a day it draws.
type Series = (&'static str, RGBColor, fn(&DayFigures) -> u64);

/// The last days' figures as a PNG (1200×700): three line series with points — «Новые
/// пользователи», «Платящие подписчики», «Вакансии» — and a legend, the title «Последние 14
/// дней», dates on the x axis as dd.mm. An empty slice renders an empty chart with the title.
pub fn render(days: &[DayFigures]) -> anyhow::Result<Vec<u8>> {
    render_titled(days, TITLE)
}

/// [`render`] with any title: the tests draw the same chart with a blank title to tell the
/// title's pixels from everything else's.
fn render_titled(days: &[DayFigures], title: &str) -> anyhow::Result<Vec<u8>> {
    ensure_font_registered()?;
    let mut rgb_pixels = vec![0_u8; WIDTH as usize * HEIGHT as usize * RGB_BYTES_PER_PIXEL];
    draw_chart(&mut rgb_pixels, days, title)?;
    encode_png(&rgb_pixels)
}

/// Registers the embedded font with plotters, once per process: the registry is global, and
/// parsing the font again for every chart would be wasted work.
fn ensure_font_registered() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    // Only the normal style is registered: plotters falls back to it for any other style.
    let registered = *REGISTERED.get_or_init(|| {
        register_font(FONT_FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    anyhow::ensure!(
        registered,
        "the embedded DejaVu Sans font could not be parsed"
    );
    Ok(())
}

fn draw_chart(rgb_pixels: &mut [u8], days: &[DayFigures], title: &str) -> anyhow::Result<()> {
    let day_count = i32::try_from(days.len()).context("too many days for one chart")?;
    // Days are placed by their index; the ticks one step before the first day and one after
    // the last keep the end points off the plot's border, and get no label.
    let date_label = |index: &i32| -> String {
        usize::try_from(*index)
            .ok()
            .and_then(|position| days.get(position))
            .map(|figures| format!("{:02}.{:02}", figures.day.day(), figures.day.month()))
            .unwrap_or_default()
    };

    let root = BitMapBackend::with_buffer(rgb_pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&BACKGROUND_COLOR)?;

    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT_FAMILY, TITLE_FONT_SIZE))
        .margin(CHART_MARGIN)
        .x_label_area_size(X_LABEL_AREA_SIZE)
        .y_label_area_size(Y_LABEL_AREA_SIZE)
        .build_cartesian_2d(-1..day_count, 0..y_axis_top(days))?;

    chart
        .configure_mesh()
        // One tick per day (the two padding ticks included), so each date gets its label.
        .x_labels((days.len() + 2).min(MAX_DATE_LABELS))
        .x_label_formatter(&date_label)
        .label_style((FONT_FAMILY, LABEL_FONT_SIZE))
        .draw()?;

    if !days.is_empty() {
        let series: [Series; 3] = [
            (
                "Новые пользователи",
                NEW_USERS_COLOR,
                |figures: &DayFigures| figures.new_users,
            ),
            (
                "Платящие подписчики",
                PAYING_SUBSCRIBERS_COLOR,
                |figures: &DayFigures| figures.paying_subscribers,
            ),
            (
                "Вакансии",
                VACANCIES_COLOR,
                |figures: &DayFigures| figures.vacancies,
            ),
        ];
        for (label, color, value_of) in series {
            // Filled, so that the points are dots; a path ignores the fill.
            let style = color.filled().stroke_width(LINE_WIDTH);
            let points: Vec<(i32, u64)> = (0..day_count)
                .zip(days)
                .map(|(index, figures)| (index, value_of(figures)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, style).point_size(POINT_RADIUS))?
                .label(label)
                .legend(move |(x, y): (i32, i32)| {
                    PathElement::new(vec![(x, y), (x + LEGEND_SAMPLE_LENGTH, y)], style)
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT_FAMILY, LEGEND_FONT_SIZE))
            // See-through, so a line passing under the legend still shows.
            .background_style(BACKGROUND_COLOR.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
    }

    root.present()?;
    Ok(())
}

/// The top of the integer y axis (which starts at 0): the highest figure plus a tenth of it,
/// and at least 1, so the highest point is not on the border and all-zero days still get a
/// sane 0..1 axis.
fn y_axis_top(days: &[DayFigures]) -> u64 {
    let peak = days
        .iter()
        .flat_map(|figures| {
            [
                figures.new_users,
                figures.paying_subscribers,
                figures.vacancies,
            ]
        })
        .max()
        .unwrap_or(0);
    peak.saturating_add((peak / 10).max(1))
}

fn encode_png(rgb_pixels: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut png_bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut png_bytes, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .context("writing the chart's PNG header")?;
    writer
        .write_image_data(rgb_pixels)
        .context("encoding the chart's pixels as PNG")?;
    writer.finish().context("finishing the chart's PNG")?;
    Ok(png_bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{Days, NaiveDate};

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

    fn two_weeks() -> Vec<DayFigures> {
        let first_day = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        (0..14_u64)
            .map(|offset| DayFigures {
                day: first_day.checked_add_days(Days::new(offset)).unwrap(),
                new_users: 5 + offset * 3,
                paying_subscribers: offset,
                vacancies: 40 + (offset % 4) * 10,
            })
            .collect()
    }

    /// The decoded image: width, height and its RGB bytes, row after row.
    fn decode_rgb(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(frame.color_type, png::ColorType::Rgb);
        assert_eq!(frame.bit_depth, png::BitDepth::Eight);
        pixels.truncate(frame.buffer_size());
        (frame.width, frame.height, pixels)
    }

    fn pixel_at(pixels: &[u8], row: u32, column: u32) -> RGBColor {
        let start = (row as usize * WIDTH as usize + column as usize) * RGB_BYTES_PER_PIXEL;
        RGBColor(pixels[start], pixels[start + 1], pixels[start + 2])
    }

    fn count_pixels_of(pixels: &[u8], color: RGBColor) -> usize {
        pixels
            .chunks_exact(RGB_BYTES_PER_PIXEL)
            .filter(|pixel| *pixel == [color.0, color.1, color.2])
            .count()
    }

    /// Pixels off the background in the band above the plot where the title is, away from the
    /// y axis' labels on the left.
    fn inked_pixels_in_title_band(pixels: &[u8]) -> usize {
        let title_rows = 0..(CHART_MARGIN + TITLE_FONT_SIZE * 3 / 4);
        let centre_columns = (WIDTH / 4)..(WIDTH * 3 / 4);
        title_rows
            .flat_map(|row| centre_columns.clone().map(move |column| (row, column)))
            .filter(|&(row, column)| pixel_at(pixels, row, column) != BACKGROUND_COLOR)
            .count()
    }

    #[test]
    fn renders_a_1200_by_700_png() {
        for days in [two_weeks(), Vec::new()] {
            let png_bytes = render(&days).unwrap();
            assert!(png_bytes.starts_with(&PNG_SIGNATURE));
            let (width, height, _) = decode_rgb(&png_bytes);
            assert_eq!((width, height), (1200, 700));
        }
    }

    #[test]
    fn data_is_drawn_on_top_of_the_empty_chart() {
        let (_, _, empty) = decode_rgb(&render(&[]).unwrap());
        let (_, _, with_data) = decode_rgb(&render(&two_weeks()).unwrap());
        assert_ne!(empty, with_data);
        for color in [NEW_USERS_COLOR, PAYING_SUBSCRIBERS_COLOR, VACANCIES_COLOR] {
            assert_eq!(count_pixels_of(&empty, color), 0);
            assert!(
                count_pixels_of(&with_data, color) > 100,
                "series {color:?} not drawn"
            );
        }
    }

    #[test]
    fn all_zero_days_still_render() {
        let zero_days: Vec<DayFigures> = two_weeks()
            .into_iter()
            .map(|figures| DayFigures {
                new_users: 0,
                paying_subscribers: 0,
                vacancies: 0,
                ..figures
            })
            .collect();
        assert_eq!(y_axis_top(&zero_days), 1);
        let (width, height, _) = decode_rgb(&render(&zero_days).unwrap());
        assert_eq!((width, height), (1200, 700));
    }

    #[test]
    fn y_axis_leaves_headroom_above_the_peak() {
        let days = two_weeks();
        let peak = days
            .iter()
            .flat_map(|figures| {
                [
                    figures.new_users,
                    figures.paying_subscribers,
                    figures.vacancies,
                ]
            })
            .max()
            .unwrap();
        assert!(y_axis_top(&days) > peak);
    }

    #[test]
    fn title_is_drawn_with_the_embedded_font() {
        // The blank title takes the same room (the font's line height does not depend on the
        // text), so the band holds nothing but the title: ink there is the title's glyphs.
        let (_, _, titled) = decode_rgb(&render(&[]).unwrap());
        let (_, _, untitled) = decode_rgb(&render_titled(&[], "").unwrap());
        assert_eq!(inked_pixels_in_title_band(&untitled), 0);
        assert!(inked_pixels_in_title_band(&titled) > 300, "title not drawn");
    }
}
