//! What the window may do is granted by name, and narrowly: each of the shell's commands, and
//! the few core and plugin calls the UI makes. No shell, no file system, no HTTP plugin.

use std::collections::BTreeSet;

/// The commands `build.rs` declares, each of which gets an `allow-…` permission.
fn declared_commands() -> BTreeSet<String> {
    let build = include_str!("../build.rs");
    let start = build
        .find("const COMMANDS")
        .expect("build.rs declares COMMANDS");
    let list = &build[start..];
    let list = &list[..list.find("];").expect("COMMANDS ends")];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The commands the UI's generated bindings know.
fn bound_commands() -> BTreeSet<String> {
    let ts = crate::bindings::typescript();
    let start = ts
        .find("export type Commands = {")
        .expect("bindings list the commands");
    ts[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('}'))
        .filter_map(|l| l.trim().split_once(':').map(|(name, _)| name.to_string()))
        .collect()
}

#[test]
fn capabilities_grant_only_the_app_commands_and_what_the_ui_uses() {
    let capability: serde_json::Value =
        serde_json::from_str(include_str!("../capabilities/default.json")).unwrap();
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    let granted: BTreeSet<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .expect("permissions are named, not scoped")
                .to_string()
        })
        .collect();

    let commands = declared_commands();
    assert_eq!(
        commands,
        bound_commands(),
        "build.rs and the bindings disagree"
    );
    let app: BTreeSet<String> = commands
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    let beyond: BTreeSet<&str> = granted
        .iter()
        .filter(|p| !app.contains(*p))
        .map(String::as_str)
        .collect();
    assert_eq!(
        beyond,
        BTreeSet::from([
            "core:event:allow-listen",
            "core:event:allow-unlisten",
            "core:window:allow-set-progress-bar",
            "core:window:allow-set-title",
            "dialog:allow-open",
        ]),
        "a permission beyond the app's commands"
    );
    assert!(app.is_subset(&granted), "a command the window cannot call");
}

#[test]
fn the_tauri_api_is_a_window_global_in_debug_builds_only() {
    let conf: serde_json::Value =
        serde_json::from_str(include_str!("../../tauri.conf.json")).unwrap();
    assert!(
        conf["app"].get("withGlobalTauri").is_none(),
        "release builds read tauri.conf.json as it is: {}",
        conf["app"]
    );
    // What build.rs merges into it for debug builds, where the window tests run.
    let merged: serde_json::Value =
        serde_json::from_str(option_env!("TAURI_CONFIG").unwrap_or("{}")).unwrap();
    assert_eq!(
        merged["app"]["withGlobalTauri"].as_bool(),
        Some(cfg!(debug_assertions))
    );
}

#[test]
fn the_content_security_policy_allows_only_the_app_itself() {
    let conf: serde_json::Value =
        serde_json::from_str(include_str!("../../tauri.conf.json")).unwrap();
    let csp = conf["app"]["security"]["csp"].as_str().unwrap();
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(name).map(str::trim))
            .unwrap_or_else(|| panic!("no {name} in {csp}"))
            .to_string()
    };
    assert_eq!(directive("default-src"), "'self'");
    assert_eq!(directive("script-src"), "'self'");
    assert_eq!(directive("object-src"), "'none'");
    assert_eq!(directive("frame-ancestors"), "'none'");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(
        !csp.split(';')
            .any(|d| d.contains(" *") || d.contains("https:")),
        "no wildcard or any-host source: {csp}"
    );
}
