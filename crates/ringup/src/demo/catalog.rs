//! The demo chain as data, before anything is written: its stores, tax classes, categories,
//! 500 products and staff. Pure and seeded, so two runs plan the same chain.
//!
//! Barcodes are EAN-13 under the GS1 prefix 20: numbers GS1 reserves for use inside a company
//! (restricted circulation), so no demo barcode can ever name a real trade item.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use ringup_core::catalog::{Barcode, BarcodeError, gs1_check_digit};
use ringup_core::users::Role;

/// A store of the chain. All price in euros, so the chain-wide reports sum every store
/// (docs/API.md "Reports": stores of different currencies are never summed).
pub struct StorePlan {
    pub code: &'static str,
    pub name: &'static str,
    pub time_zone: &'static str,
    pub country: &'static str,
    pub prices_include_tax: bool,
}

pub const CURRENCY: &str = "EUR";

pub const STORES: [StorePlan; 3] = [
    StorePlan {
        code: "BER",
        name: "Berlin Mitte",
        time_zone: "Europe/Berlin",
        country: "DE",
        prices_include_tax: true,
    },
    StorePlan {
        code: "NYC",
        name: "New York SoHo",
        time_zone: "America/New_York",
        country: "US",
        // Shelf prices before tax, as in the United States.
        prices_include_tax: false,
    },
    StorePlan {
        code: "TYO",
        name: "Tokyo Shibuya",
        time_zone: "Asia/Tokyo",
        country: "JP",
        prices_include_tax: true,
    },
];

/// Registers per store; each has a cashier of its own.
pub const REGISTERS: usize = 2;

/// The tax classes: name and rate in basis points.
pub const TAX_CLASSES: [(&str, i64); 3] = [
    ("Standard 19%", 1_900),
    ("Reduced 7%", 700),
    ("Zero-rated", 0),
];

/// A category: its name, SKU prefix, tax class (index into [`TAX_CLASSES`]), base prices in
/// cents, and what it sells.
struct CategoryPlan {
    name: &'static str,
    prefix: &'static str,
    tax_class: usize,
    items: &'static [(&'static str, i64)],
    sizes: &'static [&'static str],
}

const CATEGORIES: [CategoryPlan; 6] = [
    CategoryPlan {
        name: "Fresh produce",
        prefix: "FRS",
        tax_class: 1,
        items: &[
            ("Apples", 249),
            ("Bananas", 189),
            ("Tomatoes", 299),
            ("Carrots", 129),
            ("Potatoes", 219),
            ("Lemons", 179),
            ("Avocados", 349),
            ("Spinach", 199),
            ("Mushrooms", 259),
            ("Grapes", 399),
        ],
        sizes: &["250 g", "500 g", "1 kg", "2 kg", "bunch"],
    },
    CategoryPlan {
        name: "Bakery",
        prefix: "BAK",
        tax_class: 1,
        items: &[
            ("Sourdough loaf", 389),
            ("Rye bread", 329),
            ("Croissants", 249),
            ("Bagels", 299),
            ("Baguette", 149),
            ("Muffins", 349),
            ("Pretzels", 199),
            ("Cinnamon rolls", 399),
            ("Crackers", 229),
            ("Oat cookies", 279),
        ],
        sizes: &["1 pc", "2 pcs", "4 pcs", "6 pcs", "family pack"],
    },
    CategoryPlan {
        name: "Beverages",
        prefix: "BEV",
        tax_class: 0,
        items: &[
            ("Sparkling water", 89),
            ("Orange juice", 249),
            ("Apple juice", 229),
            ("Cola", 159),
            ("Iced tea", 179),
            ("Ground coffee", 649),
            ("Green tea", 399),
            ("Oat drink", 219),
            ("Lemonade", 189),
            ("Ginger beer", 209),
        ],
        sizes: &["330 ml", "500 ml", "1 l", "1.5 l", "6-pack"],
    },
    CategoryPlan {
        name: "Household",
        prefix: "HSE",
        tax_class: 0,
        items: &[
            ("Dish soap", 229),
            ("Laundry detergent", 899),
            ("Paper towels", 349),
            ("Sponges", 199),
            ("Trash bags", 299),
            ("Glass cleaner", 279),
            ("Candles", 499),
            ("Batteries AA", 649),
            ("Light bulb", 399),
            ("Aluminium foil", 249),
        ],
        sizes: &["small", "medium", "large", "value pack", "refill"],
    },
    CategoryPlan {
        name: "Personal care",
        prefix: "PCR",
        tax_class: 0,
        items: &[
            ("Toothpaste", 229),
            ("Shampoo", 399),
            ("Shower gel", 299),
            ("Hand cream", 449),
            ("Deodorant", 349),
            ("Lip balm", 249),
            ("Sunscreen", 899),
            ("Razors", 699),
            ("Cotton pads", 179),
            ("Soap bar", 149),
        ],
        sizes: &["travel", "50 ml", "100 ml", "250 ml", "twin pack"],
    },
    CategoryPlan {
        name: "Books & press",
        prefix: "PRS",
        tax_class: 2,
        items: &[
            ("City guide", 1_499),
            ("Cookbook", 2_299),
            ("Crossword book", 699),
            ("Daily newspaper", 250),
            ("Weekly magazine", 450),
            ("Notebook", 399),
            ("Postcards", 150),
            ("Wall calendar", 1_299),
            ("Sketchbook", 899),
            ("Atlas", 2_499),
        ],
        sizes: &["", "pocket", "deluxe", "2-pack", "gift edition"],
    },
];

/// Brands; a product is one brand's take on one item of its category.
const BRANDS: [&str; 9] = [
    "Northfield",
    "Golden Hill",
    "Blue Harbor",
    "Maple & Co",
    "Sunrise",
    "Kiyomi",
    "Urban Pantry",
    "Green Valley",
    "Linden",
];

/// How many products the chain sells.
pub const PRODUCTS: usize = 500;

pub struct CategoryView {
    pub name: &'static str,
}

/// The categories, in the order [`ProductPlan::category`] indexes them.
pub fn categories() -> impl Iterator<Item = CategoryView> {
    CATEGORIES.iter().map(|c| CategoryView { name: c.name })
}

/// One product of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductPlan {
    pub sku: String,
    pub barcode: Barcode,
    pub name: String,
    /// Index into [`categories`].
    pub category: usize,
    /// Index into [`TAX_CLASSES`].
    pub tax_class: usize,
    pub price: i64,
    pub cost: i64,
    /// Staples sell far more often than the rest (a fifth of the catalog).
    pub staple: bool,
}

/// The EAN-13 `20nnnnnnnnnn` + check digit: `n` in the restricted-circulation range.
pub fn demo_barcode(n: usize) -> Result<Barcode, BarcodeError> {
    let body = format!("20{:010}", n % 10_000_000_000);
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    Barcode::parse(&format!("{body}{}", gs1_check_digit(&digits)))
}

/// The 500 products: categories in turn, each product a distinct (brand, item) of its
/// category, so names, SKUs and barcodes are all distinct.
pub fn products(rng: &mut StdRng) -> Result<Vec<ProductPlan>, BarcodeError> {
    let mut per_category: Vec<_> = CATEGORIES
        .iter()
        .enumerate()
        .map(|(index, category)| {
            let combos = BRANDS
                .iter()
                .flat_map(move |brand| category.items.iter().map(move |item| (*brand, *item)));
            (index, category, combos)
        })
        .collect();
    let mut products = Vec::with_capacity(PRODUCTS);
    while products.len() < PRODUCTS {
        let before = products.len();
        for (index, category, combos) in &mut per_category {
            let Some((brand, (item, base))) = combos.next() else {
                continue;
            };
            if products.len() == PRODUCTS {
                break;
            }
            let name = match category.sizes.choose(rng).copied().unwrap_or_default() {
                "" => format!("{brand} {item}"),
                size => format!("{brand} {item} {size}"),
            };
            // A price near the item's base, ending in 9 cents; cost 55–75 % of it.
            let price = (base * rng.random_range(80..=150) / 100) / 10 * 10 + 9;
            let cost = price * rng.random_range(55..=75) / 100;
            let n = products.len() + 1;
            products.push(ProductPlan {
                sku: format!("{}-{n:04}", category.prefix),
                barcode: demo_barcode(n)?,
                name,
                category: *index,
                tax_class: category.tax_class,
                price,
                cost,
                staple: n % 5 == 1,
            });
        }
        if products.len() == before {
            break;
        }
    }
    Ok(products)
}

/// A member of a store's staff: username suffix and role. Cashiers are numbered by the
/// register they work.
pub const STAFF: [(&str, Role); 4] = [
    ("manager", Role::Manager),
    ("cashier1", Role::Cashier),
    ("cashier2", Role::Cashier),
    ("stock", Role::Employee),
];

/// A cashier's commission, in basis points of the net sales.
pub const CASHIER_COMMISSION_BP: i64 = 150;

/// `ber.cashier1`: the store's code in lower case, then the role's suffix.
pub fn username(store: &StorePlan, suffix: &str) -> String {
    format!("{}.{suffix}", store.code.to_lowercase())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;
    use ringup_core::catalog::BarcodeKind;

    use super::*;

    #[test]
    fn the_catalog_is_500_distinct_products_with_valid_ean13_barcodes() {
        let products = products(&mut StdRng::seed_from_u64(1)).expect("barcodes");
        assert_eq!(products.len(), PRODUCTS);
        let distinct =
            |f: fn(&ProductPlan) -> String| products.iter().map(f).collect::<HashSet<_>>().len();
        assert_eq!(distinct(|p| p.sku.clone()), PRODUCTS);
        assert_eq!(distinct(|p| p.name.clone()), PRODUCTS);
        assert_eq!(distinct(|p| p.barcode.as_str().to_owned()), PRODUCTS);
        for p in &products {
            assert_eq!(
                p.barcode.kind(),
                BarcodeKind::Ean13,
                "{}",
                p.barcode.as_str()
            );
            assert!(Barcode::parse(p.barcode.as_str()).is_ok());
            assert!(p.barcode.as_str().starts_with("20"));
            assert!(0 < p.cost && p.cost < p.price, "{p:?}");
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_catalog() {
        let a = products(&mut StdRng::seed_from_u64(7)).expect("barcodes");
        let b = products(&mut StdRng::seed_from_u64(7)).expect("barcodes");
        assert_eq!(a, b);
    }

    #[test]
    fn every_demo_username_and_code_parses() {
        for store in &STORES {
            assert!(ringup_core::catalog::StoreCode::parse(store.code).is_ok());
            assert!(ringup_core::catalog::TimeZone::parse(store.time_zone).is_ok());
            for (suffix, _) in STAFF {
                assert!(ringup_core::users::Username::parse(&username(store, suffix)).is_ok());
            }
        }
    }
}
