//! A deterministic generator of a sample "orders" table, in the spirit of
//! Tableau's Superstore: order id, order and ship dates, customer, region,
//! category, product, quantity, unit price, discount and profit.
//!
//! Invariant: the output depends only on the row count (a fixed-seed
//! splitmix64 generator, no clock, no locale), so the committed
//! `examples/orders.csv` can be checked byte for byte.

use std::io::{self, Write};

/// Rows in the bundled sample.
pub const SAMPLE_ROWS: usize = 10_000;

/// The CSV header.
pub const HEADER: &str =
    "order_id,order_date,ship_date,customer,region,category,product,quantity,price,discount,profit";

const REGIONS: [&str; 4] = ["Central", "East", "South", "West"];
const FIRST: [&str; 12] = [
    "Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiro", "Ines", "José", "Kai",
    "Lena",
];
const LAST: [&str; 10] = [
    "Okafor", "Müller", "Smith", "Tanaka", "García", "O'Brien", "Nguyen", "Rossi", "Kowalski",
    "Silva",
];
/// (category, product, list price in cents)
const PRODUCTS: [(&str, &str, u64); 12] = [
    ("Furniture", "Bookcase", 18_999),
    ("Furniture", "Office Chair", 24_950),
    ("Furniture", "Table, round", 32_000),
    ("Furniture", "Desk Lamp", 2_499),
    ("Office Supplies", "Binder", 599),
    ("Office Supplies", "Paper, 500 sheets", 899),
    ("Office Supplies", "Stapler", 1_250),
    ("Office Supplies", "Envelopes \"Premium\"", 1_099),
    ("Technology", "Phone", 49_900),
    ("Technology", "Laptop", 129_900),
    ("Technology", "Monitor 27\"", 27_999),
    ("Technology", "Headset", 5_999),
];

/// splitmix64: tiny, fast, and the same on every platform.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Civil date (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn date(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn cents(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", v.abs() / 100, v.abs() % 100)
}

/// Writes `rows` orders as CSV (with a header row) to `out`.
///
/// # Errors
/// Whatever `out` returns.
pub fn write_csv(rows: usize, out: &mut dyn Write) -> io::Result<()> {
    let mut rng = Rng(0x4859_5045_5243_544C); // "HYPERCTL"
    let first_day = 19_358; // 2023-01-01
    writeln!(out, "{HEADER}")?;
    for id in 1..=rows {
        let order_day = first_day + rng.below(3 * 365) as i64;
        let ship_day = order_day + rng.below(8) as i64;
        let customer = format!(
            "{} {}",
            FIRST[rng.below(FIRST.len() as u64) as usize],
            LAST[rng.below(LAST.len() as u64) as usize]
        );
        let region = REGIONS[rng.below(REGIONS.len() as u64) as usize];
        let (category, product, list) = PRODUCTS[rng.below(PRODUCTS.len() as u64) as usize];
        let quantity = 1 + rng.below(9);
        let discount_pct = [0, 0, 0, 5, 10, 15, 20, 30][rng.below(8) as usize];
        let price = list as i64;
        let revenue = price * quantity as i64 * (100 - discount_pct) / 100;
        let margin_pct = rng.below(50) as i64 - 15;
        let profit = revenue * margin_pct / 100;
        writeln!(
            out,
            "{id},{},{},{},{region},{category},{},{quantity},{},0.{discount_pct:02},{}",
            date(order_day),
            date(ship_day),
            csv_field(&customer),
            csv_field(product),
            cents(price),
            cents(profit),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(19_358), "2023-01-01");
        assert_eq!(date(19_417), "2023-03-01");
        assert_eq!(date(-1), "1969-12-31");
    }

    #[test]
    fn the_committed_sample_is_what_the_generator_writes() {
        let mut generated = Vec::new();
        write_csv(SAMPLE_ROWS, &mut generated).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/orders.csv");
        let committed = std::fs::read(path).expect("examples/orders.csv is committed");
        assert!(
            generated == committed,
            "examples/orders.csv differs from the generator's output; regenerate it with \
             `cargo run -p hyperctl-benches --example gen_orders > examples/orders.csv`"
        );
    }
}
