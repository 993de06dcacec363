//! The quickstarts kconnect ships: schemas written for kconnect with the record names, field
//! names and types of Confluent's, so the schemas a registry holds for them are the ones
//! Datagen users already have (`tests/datagen.rs` checks each against Confluent's AvroData),
//! and with the same default key fields.

pub struct Quickstart {
    pub name: &'static str,
    pub schema: &'static str,
    pub keyfield: &'static str,
}

pub const SHIPPED: &[Quickstart] = &[
    Quickstart {
        name: "users",
        schema: include_str!("quickstarts/users.avro"),
        keyfield: "userid",
    },
    Quickstart {
        name: "pageviews",
        schema: include_str!("quickstarts/pageviews.avro"),
        keyfield: "viewtime",
    },
    Quickstart {
        name: "orders",
        schema: include_str!("quickstarts/orders.avro"),
        keyfield: "orderid",
    },
    Quickstart {
        name: "ratings",
        schema: include_str!("quickstarts/ratings.avro"),
        keyfield: "rating_id",
    },
    Quickstart {
        name: "clickstream",
        schema: include_str!("quickstarts/clickstream.avro"),
        keyfield: "ip",
    },
    Quickstart {
        name: "stock_trades",
        schema: include_str!("quickstarts/stock_trades.avro"),
        keyfield: "symbol",
    },
];

/// Confluent's other quickstarts: known by name, so that asking for one says it is not
/// shipped rather than that it does not exist.
const NOT_SHIPPED: &[&str] = &[
    "clickstream_codes",
    "clickstream_users",
    "users_",
    "inventory",
    "product",
    "purchases",
    "transactions",
    "stores",
    "credit_cards",
    "campaign_finance",
    "fleet_mgmt_description",
    "fleet_mgmt_location",
    "fleet_mgmt_sensors",
    "pizza_orders",
    "pizza_orders_completed",
    "pizza_orders_cancelled",
    "insurance_offers",
    "insurance_customers",
    "insurance_customer_activity",
    "gaming_games",
    "gaming_players",
    "gaming_player_activity",
    "payroll_employee",
    "payroll_employee_location",
    "payroll_bonus",
    "syslog_logs",
    "device_information",
    "siem_logs",
    "shoes",
    "shoe_customers",
    "shoe_orders",
    "shoe_clickstream",
];

pub fn find(name: &str) -> Result<&'static Quickstart, String> {
    let lower = name.to_ascii_lowercase();
    if let Some(q) = SHIPPED.iter().find(|q| q.name == lower) {
        return Ok(q);
    }
    let shipped = SHIPPED
        .iter()
        .map(|q| q.name)
        .collect::<Vec<_>>()
        .join(", ");
    if NOT_SHIPPED.contains(&lower.as_str()) {
        Err(format!(
            "quickstart {name} is one of Confluent's that kconnect does not ship (it ships {shipped}); give its schema with schema.filename or schema.string and set schema.keyfield"
        ))
    } else {
        Err(format!("quickstart must be one out of {shipped}"))
    }
}
