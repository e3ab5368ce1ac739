//! Schemas of the admin API's constrained text fields, for
//! `#[schema(schema_with = ...)]`: each states in JSON Schema what the
//! domain's validation (`crate::domain::user`, `group`, `registration`)
//! accepts, so that a request that fits the document is taken and one
//! that does not is refused. Lengths count the text as sent; surrounding
//! white space is allowed and dropped.

use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema, schema::SchemaType};

/// What Rust's `str::trim` drops (Unicode `White_Space`).
const WS: &str = r"[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*";
/// A character that is neither a control character nor white space.
const VISIBLE: &str =
    r"[^\u0000-\u001f\u007f-\u009f \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// A character that is not white space (a name has one somewhere).
const NOT_WS: &str =
    r"[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Anything but a control character (`char::is_control`).
const NO_CONTROL: &str = r"[^\u0000-\u001f\u007f-\u009f]*";
/// alias@host, as `crate::domain::user::Upn` parses it.
const ADDRESS: &str = r"[A-Za-z0-9_'+!#^~&-](?:[A-Za-z0-9._'+!#^~&-]{0,62}[A-Za-z0-9_'+!#^~&-])?@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*";

/// `string`, or `string` and `null`.
fn string_type(nullable: bool) -> SchemaType {
    if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    }
}

fn text(pattern: String, max: usize, nullable: bool, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(string_type(nullable))
        .max_length(Some(max))
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

fn upn_pattern() -> String {
    format!("^{WS}{ADDRESS}{WS}$")
}

/// A required name: not only white space.
fn name_pattern() -> String {
    format!("^{WS}{VISIBLE}{NO_CONTROL}{WS}$")
}

/// Optional text: empty or only white space means none.
fn optional_pattern() -> String {
    format!("^{WS}{NO_CONTROL}{WS}$")
}

fn optional_mail_pattern() -> String {
    format!("^{WS}(?:{ADDRESS})?{WS}$")
}

pub fn upn() -> RefOr<Schema> {
    text(
        upn_pattern(),
        113,
        false,
        "alias@domain: an alias of 1 to 64 letters, digits and `. _ - ' + ! # ^ ~ &` (no `.` at its ends), and a host name; at most 113 characters. Unique, compared case-insensitively.",
    )
}

pub fn display_name() -> RefOr<Schema> {
    text(
        name_pattern(),
        256,
        false,
        "Not only white space; at most 256 characters, no control characters.",
    )
}

/// `maxLength` and nullability vary by field; the rules do not.
macro_rules! optional_text {
    ($($name:ident, $nullable:ident: $max:literal;)*) => {$(
        pub fn $name() -> RefOr<Schema> {
            text(optional_pattern(), $max, false, concat!(
                "At most ", stringify!($max), " characters, no control characters. Empty or only white space: none."
            ))
        }
        pub fn $nullable() -> RefOr<Schema> {
            text(optional_pattern(), $max, true, concat!(
                "At most ", stringify!($max), " characters, no control characters. `null`, empty or only white space clears it."
            ))
        }
    )*};
}

optional_text! {
    name, name_or_null: 256;
    street, street_or_null: 1024;
    place, place_or_null: 128;
    postal_code, postal_code_or_null: 40;
    job_title, job_title_or_null: 128;
    department, department_or_null: 64;
    employee_id, employee_id_or_null: 16;
    employee_type, employee_type_or_null: 64;
    company, company_or_null: 64;
    office, office_or_null: 128;
    description, description_or_null: 1024;
}

pub fn mail() -> RefOr<Schema> {
    text(
        optional_mail_pattern(),
        113,
        false,
        "name@domain (the form of a userPrincipalName). Empty or only white space: none.",
    )
}

pub fn mail_or_null() -> RefOr<Schema> {
    text(
        optional_mail_pattern(),
        113,
        true,
        "name@domain; `null`, empty or only white space clears it.",
    )
}

fn phone_pattern() -> String {
    format!("^{WS}(?:[0-9 +().-]*[0-9][0-9 +().-]*)?{WS}$")
}

pub fn phone() -> RefOr<Schema> {
    text(
        phone_pattern(),
        64,
        false,
        "Digits, optionally with spaces and `+ - ( ) .`. Released as `phone_number` with the `phone` scope. Empty: none.",
    )
}

pub fn phone_or_null() -> RefOr<Schema> {
    text(
        phone_pattern(),
        64,
        true,
        "Digits, optionally with spaces and `+ - ( ) .`; `null` or empty clears it.",
    )
}

fn nickname_pattern() -> String {
    format!("^{WS}[!#-'*+\\-./0-9=?A-Z^_`a-z{{|}}~]*{WS}$")
}

pub fn mail_nickname() -> RefOr<Schema> {
    text(
        nickname_pattern(),
        64,
        false,
        "A mail alias: ASCII letters, digits and punctuation except `@ ( ) \\ [ ] \" ; : < > ,`, no spaces; at most 64 characters.",
    )
}

pub fn mail_nickname_or_null() -> RefOr<Schema> {
    text(
        nickname_pattern(),
        64,
        true,
        "A mail alias (see create); `null` or empty clears it.",
    )
}

fn usage_location_pattern() -> String {
    format!("^{WS}(?:[A-Za-z]{{2}})?{WS}$")
}

pub fn usage_location() -> RefOr<Schema> {
    text(
        usage_location_pattern(),
        2,
        false,
        "An ISO 3166-1 alpha-2 country code such as `US` (kept upper case).",
    )
}

pub fn usage_location_or_null() -> RefOr<Schema> {
    text(
        usage_location_pattern(),
        2,
        true,
        "An ISO 3166-1 alpha-2 country code; `null` or empty clears it.",
    )
}

fn language_pattern() -> String {
    format!("^{WS}(?:[A-Za-z]{{2}}(?:[-_](?:[A-Za-z]{{2}}|[0-9]{{3}}))?)?{WS}$")
}

pub fn language() -> RefOr<Schema> {
    text(
        language_pattern(),
        6,
        false,
        "An ISO 639-1 language code, optionally with a region: `en`, `en-US`, `es-419`.",
    )
}

pub fn language_or_null() -> RefOr<Schema> {
    text(
        language_pattern(),
        6,
        true,
        "An ISO 639-1 language code with an optional region; `null` or empty clears it.",
    )
}

fn date_time(nullable: bool, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(string_type(nullable))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some(description))
        .into()
}

pub fn hire_date() -> RefOr<Schema> {
    date_time(false, "RFC 3339.")
}

pub fn hire_date_or_null() -> RefOr<Schema> {
    date_time(true, "RFC 3339; `null` clears it.")
}

pub fn other_mails() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(text(
            optional_mail_pattern(),
            250,
            false,
            "name@domain; blank ones are dropped.",
        ))
        .max_items(Some(250))
        .description(Some(
            "Up to 250 addresses; repeats (ignoring case) are dropped. Replaces the list.",
        ))
        .into()
}

/// An AAGUID as sent: 32 hexadecimal digits in any case, hyphens
/// anywhere, braces and white space around allowed.
pub fn aaguid_input() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^{WS}[{{}}]*-*(?:[0-9A-Fa-f]-*){{32}}[{{}}]*{WS}$")))
        .description(Some(
            "A UUID: 32 hexadecimal digits in any case, hyphens anywhere, braces and white space around allowed; stored lower-case and hyphenated.",
        ))
        .into()
}

pub fn aaguids_input() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(aaguid_input())
        .max_items(Some(100))
        .into()
}

pub fn trust_anchor_aaguids() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(aaguid_input())
        .min_items(Some(1))
        .into()
}

/// A client's display name: 1 to 100 characters, not only white space.
pub fn client_name() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(100))
        .pattern(Some(NOT_WS))
        .description(Some(
            "1 to 100 characters as sent, not only white space (which is dropped around it).",
        ))
        .into()
}

/// `https://host[:port][/path][?query]`, or http on a loopback host.
fn redirect_uri() -> RefOr<Schema> {
    const OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    let host = format!(
        "(?:{OCTET}(?:\\.{OCTET}){{3}}|(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)"
    );
    let port =
        "(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?";
    let path = "(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?";
    let query = "(?:\\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uri".into())))
        .pattern(Some(format!(
            "^(?:https://{host}|http://(?:localhost|127\\.0\\.0\\.1|\\[::1\\])){port}{path}{query}$"
        )))
        .into()
}

pub fn redirect_uris() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(redirect_uri())
        .description(Some(
            "Exact absolute URLs, https://host[:port][/path][?query], or http on localhost, 127.0.0.1 or [::1]; no fragment. At least one when grantTypes has authorization_code (as it has by default).",
        ))
        .into()
}

/// A policy target's kind.
pub fn target_type() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["user", "group"]))
        .into()
}

/// A required mail alias (a group's): as [`mail_nickname`], not empty.
pub fn required_mail_nickname() -> RefOr<Schema> {
    text(
        format!("^{WS}[!#-'*+\\-./0-9=?A-Z^_`a-z{{|}}~]+{WS}$"),
        64,
        false,
        "A mail alias: 1 to 64 ASCII letters, digits and punctuation except `@ ( ) \\ [ ] \" ; : < > ,`, no spaces.",
    )
}

/// Security groups only: `securityEnabled` may only be `true`.
pub fn always_true() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .into()
}

/// No mail-enabled groups: `mailEnabled` may only be `false`.
pub fn always_false() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([false]))
        .into()
}

/// `groupTypes`: empty (no Unified or dynamic groups).
pub fn no_group_types() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .max_items(Some(0))
        .into()
}

/// How a client authenticates at the token endpoint (`none`: public).
pub fn auth_method() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ]))
        .into()
}

/// What a registration may ask for (`private_key_jwt` needs keys, which
/// only the configuration file can give).
pub fn registrable_auth_method() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["client_secret_basic", "client_secret_post", "none"]))
        .description(Some(
            "Default `client_secret_basic`; `none`: a public client (PKCE required).",
        ))
        .into()
}

/// The URL of a user (`@odata.id`, `members@odata.bind`): its last two
/// segments `users/{id}` or `directoryObjects/{id}`.
pub const REFERENCE_PATTERN: &str = "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]+(/[^/?#]+)*/(users|directoryObjects|Users|DirectoryObjects)/[A-Za-z0-9._~!$&'()*+,;=:@%-]+$";

/// `members@odata.bind`: up to 20 user URLs.
pub fn member_urls() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::Custom("uri".into())))
                .pattern(Some(REFERENCE_PATTERN)),
        )
        .max_items(Some(20))
        .description(Some(
            "Users to add as members, by URL (e.g. `https://graph.microsoft.com/v1.0/users/{id}`).",
        ))
        .into()
}

/// An inner request's headers: token names, values without control
/// characters (a list of them is joined with commas).
pub fn batch_headers() -> RefOr<Schema> {
    let value = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f]*$"))
    };
    let either = utoipa::openapi::schema::AnyOfBuilder::new()
        .item(value())
        .item(ArrayBuilder::new().items(value()));
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[-!#$%&'*+.^_`|~0-9A-Za-z]+$")),
        ))
        .additional_properties(Some(Schema::AnyOf(either.build())))
        .into()
}
