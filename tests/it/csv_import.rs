//! CSV import in the portal: a file with good and bad rows gets a preview
//! with per-row errors and writes nothing; the commit creates exactly the
//! good rows (with their managers); the report says so. Both stores.

use reqwest::Method;
use serde_json::json;

use crate::browser::{Browser, Response};
use crate::helpers::*;
use crate::portal::admin_browser;

const BOUNDARY: &str = "----onramp-test-boundary-7d1c";

/// A multipart form with the CSRF token and a file, as a browser sends it.
async fn upload(browser: &Browser, csrf: &str, file: &[u8]) -> Response {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hires.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let res = browser
        .http
        .post(format!("{}/admin/import", browser.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    Browser::wrap(res).await
}

const FILE: &str = "\u{feff}userPrincipalName,displayName,mail,manager,employeeHireDate,department,jobTitle,employeeId\r\n\
lead@example.com,Team Lead,lead@example.com,boss@example.com,2027-01-04,Sales,Lead,E1\r\n\
ann@example.com,\"Ann, A.\",,LEAD@example.com,2027-01-04T09:00:00Z,Sales,Rep,E2\r\n\
existing@example.com,Taken,,,,,,\r\n\
bad-upn,Bad,,,,,,\r\n\
bob@example.com,Bob,,ghost@example.com,,,,\r\n\
ANN@example.com,Twice,,,,,,\r\n\
cat@example.com,Cat,,,03/01/2027,,,\r\n\
dan@example.com,Dan,,,,,,\r\n";

async fn csv_import_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let hr = app.hr_token().await;
    for upn in ["existing@example.com", "boss@example.com"] {
        let (s, body) = app
            .api(
                Method::POST,
                "/users",
                &hr,
                Some(json!({"userPrincipalName": upn, "displayName": upn})),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let admin = admin_browser(&app).await;
    let page = admin.get("/admin/import").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("employeeHireDate"), "{}", page.body);
    let csrf = page.field("csrf");

    // Without the CSRF token nothing is read.
    let refused = upload(&admin, "", FILE.as_bytes()).await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    // A column outside the documented set: the file is refused, naming it.
    let unknown = upload(
        &admin,
        &csrf,
        b"userPrincipalName,displayName,password\nx@example.com,X,p\n",
    )
    .await;
    crate::portal::assert_inline(
        &unknown,
        400,
        "file",
        "Column 3 is named &#34;password&#34;",
    );
    assert!(
        unknown
            .body
            .contains("<h1>Import users from a CSV file</h1>"),
        "the same page: {}",
        unknown.body
    );
    // No file chosen: said beside the field.
    let empty = upload(&admin, &csrf, b"").await;
    crate::portal::assert_inline(&empty, 400, "file", "Choose a CSV file to upload.");

    // The preview: every bad row with its reason, nothing written.
    let posted = upload(&admin, &csrf, FILE.as_bytes()).await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let preview_path = posted.location.clone().unwrap();
    let preview = admin.follow(posted).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let body = &preview.body;
    assert!(
        body.contains("8 rows: <strong>3</strong> can be imported, <strong>5</strong> have errors"),
        "{body}"
    );
    for expected in [
        "userPrincipalName: a user named existing@example.com already exists",
        "userPrincipalName: must have the form alias@domain",
        "manager: there is no user ghost@example.com in the directory or in this file",
        "userPrincipalName: ANN@example.com is also on line 3",
        "employeeHireDate: must be a date such as 2026-03-01",
    ] {
        assert!(body.contains(expected), "{expected} missing in {body}");
    }
    for upn in ["lead@example.com", "ann@example.com", "dan@example.com"] {
        let (s, _) = app
            .api(Method::GET, &format!("/users/{upn}"), &hr, None)
            .await;
        assert_eq!(s, 404, "the preview created {upn}");
    }

    // The commit creates exactly the good rows.
    let committed = admin.post_form(&preview_path, &[("csrf", &csrf)]).await;
    assert_eq!(committed.status, 303, "{}", committed.body);
    let report_path = committed.location.clone().unwrap();
    let report = admin.follow(committed).await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert!(
        report
            .body
            .contains("<strong>3</strong> users created, <strong>5</strong> rows failed"),
        "{}",
        report.body
    );
    let (s, users) = app.api(Method::GET, "/users?$top=999", &hr, None).await;
    assert_eq!(s, 200);
    let mut names: Vec<String> = users["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "admin@localhost",
            "ann@example.com",
            "boss@example.com",
            "dan@example.com",
            "existing@example.com",
            "lead@example.com"
        ]
    );
    let (_, ann) = app
        .api(Method::GET, "/users/ann@example.com", &hr, None)
        .await;
    assert_eq!(ann["displayName"], "Ann, A.");
    assert_eq!(ann["employeeHireDate"], "2027-01-04T09:00:00Z");
    assert_eq!(ann["department"], "Sales");
    assert_eq!(ann["jobTitle"], "Rep");
    assert_eq!(ann["employeeId"], "E2");
    // Managers: one from the directory, one from the same file.
    let (s, m) = app
        .api(Method::GET, "/users/ann@example.com/manager", &hr, None)
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["userPrincipalName"], "lead@example.com");
    let (_, m) = app
        .api(Method::GET, "/users/lead@example.com/manager", &hr, None)
        .await;
    assert_eq!(m["userPrincipalName"], "boss@example.com");
    let (s, _) = app
        .api(Method::GET, "/users/dan@example.com/manager", &hr, None)
        .await;
    assert_eq!(s, 404);

    // The report CSV matches, row by row.
    let csv = admin.get(&format!("{report_path}.csv")).await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "line,userPrincipalName,outcome,id,error");
    assert_eq!(lines.len(), 9, "{}", csv.body);
    let id_of = |upn: &str| {
        let user = users["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["userPrincipalName"] == upn)
            .unwrap();
        user["id"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        lines[1],
        format!("2,lead@example.com,created,{},", id_of("lead@example.com"))
    );
    assert_eq!(
        lines[2],
        format!("3,ann@example.com,created,{},", id_of("ann@example.com"))
    );
    assert!(
        lines[3].starts_with("4,existing@example.com,failed,,userPrincipalName: a user named"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].starts_with("5,bad-upn,failed,,userPrincipalName:"),
        "{}",
        lines[4]
    );
    assert!(
        lines[5].starts_with("6,bob@example.com,failed,,manager:"),
        "{}",
        lines[5]
    );
    assert!(
        lines[6].starts_with("7,ANN@example.com,failed,,"),
        "{}",
        lines[6]
    );
    assert!(
        lines[7].starts_with("8,cat@example.com,failed,,\"employeeHireDate:"),
        "{}",
        lines[7]
    );
    assert_eq!(
        lines[8],
        format!("9,dan@example.com,created,{},", id_of("dan@example.com"))
    );

    // A preview is committed once.
    let again = admin.post_form(&preview_path, &[("csrf", &csrf)]).await;
    assert_eq!(again.status, 404, "{}", again.body);

    // Each created user has its own audit event, as through the API.
    let audit = app.token(POLICY_ID, POLICY_SECRET).await;
    let (s, events) = app
        .api(
            Method::GET,
            "/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Add user'&$top=999",
            &audit,
            None,
        )
        .await;
    assert_eq!(s, 200, "{events}");
    let targets: Vec<String> = events["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["targetResources"][0]["userPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    for upn in ["lead@example.com", "ann@example.com", "dan@example.com"] {
        assert!(
            targets.iter().any(|t| t == upn),
            "no user.created for {upn}: {events}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_import_embedded() {
    csv_import_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_import_redis() {
    csv_import_on(Backend::Redis).await;
}
