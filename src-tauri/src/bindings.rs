//! Generates `ui/src/bindings.ts` from the Rust types, so the UI cannot drift from the shell.
//! `UPDATE_BINDINGS=1 cargo test --lib bindings` rewrites the file; otherwise the test fails
//! when it is stale.

use ts_rs::TS;

use crate::dto::{
    AppStatus, CommandError, ConnectionStepView, ConnectionView, ControlAction, CredentialKindView,
    CredentialsView, DiagnosisView, GalleryImageView, GalleryObjectView, JOB_EVENT, JobEvent,
    JobStateView, JobView, NoteView, OPEN_PATHS_EVENT, OutboxRowView, OutboxView, PreferencesInput,
    ReviewItemView, ReviewView, SecretInput, SettingRow, SettingsView, VariantView,
};

/// The whole TypeScript file: types, the event name, and each command's arguments and result.
pub fn typescript() -> String {
    let cfg = ts_rs::Config::default();
    let decls = [
        JobView::decl(&cfg),
        JobStateView::decl(&cfg),
        JobEvent::decl(&cfg),
        CommandError::decl(&cfg),
        AppStatus::decl(&cfg),
        OutboxView::decl(&cfg),
        ReviewView::decl(&cfg),
        ReviewItemView::decl(&cfg),
        NoteView::decl(&cfg),
        ControlAction::decl(&cfg),
        GalleryImageView::decl(&cfg),
        GalleryObjectView::decl(&cfg),
        OutboxRowView::decl(&cfg),
        SettingsView::decl(&cfg),
        VariantView::decl(&cfg),
        SettingRow::decl(&cfg),
        PreferencesInput::decl(&cfg),
        CredentialsView::decl(&cfg),
        CredentialKindView::decl(&cfg),
        SecretInput::decl(&cfg),
        ConnectionView::decl(&cfg),
        ConnectionStepView::decl(&cfg),
        DiagnosisView::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from src-tauri/src/dto.rs by src-tauri/src/bindings.rs. Do not edit.\n\n",
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.push_str(&format!("export const JOB_EVENT = {JOB_EVENT:?};\n\n"));
    out.push_str(&format!(
        "/** Carries `Array<string>`: paths a later launch handed over. */\nexport const OPEN_PATHS_EVENT = {OPEN_PATHS_EVENT:?};\n\n"
    ));
    out.push_str("/** Each command's arguments and result; errors are `CommandError`. */\nexport type Commands = {\n");
    let commands = [
        (
            "review_paths",
            "{ paths: Array<string>; sku: string | null }",
            ReviewView::name(&cfg),
        ),
        (
            "add_paths",
            "{ paths: Array<string>; sku: string | null }",
            format!("Array<{}>", JobView::name(&cfg)),
        ),
        (
            "control_jobs",
            &format!(
                "{{ action: {}; ids: Array<number> }}",
                ControlAction::name(&cfg)
            ),
            "number".into(),
        ),
        (
            "list_jobs",
            "Record<string, never>",
            format!("Array<{}>", JobView::name(&cfg)),
        ),
        (
            "gallery",
            "{ search: string }",
            format!("Array<{}>", GalleryImageView::name(&cfg)),
        ),
        ("remove_image", "{ jobId: number }", "number".into()),
        (
            "replace_image",
            "{ jobId: number; path: string }",
            format!("Array<{}>", JobView::name(&cfg)),
        ),
        ("object_link", "{ key: string }", "string".into()),
        (
            "outbox_rows",
            "Record<string, never>",
            format!("Array<{}>", OutboxRowView::name(&cfg)),
        ),
        ("outbox_retry", "{ ids: Array<string> }", "number".into()),
        ("app_status", "Record<string, never>", AppStatus::name(&cfg)),
        (
            "outbox_status",
            "Record<string, never>",
            OutboxView::name(&cfg),
        ),
        (
            "settings",
            "Record<string, never>",
            SettingsView::name(&cfg),
        ),
        (
            "save_settings",
            &format!("{{ preferences: {} }}", PreferencesInput::name(&cfg)),
            SettingsView::name(&cfg),
        ),
        (
            "reset_settings",
            "Record<string, never>",
            SettingsView::name(&cfg),
        ),
        (
            "take_launch_paths",
            "Record<string, never>",
            "Array<string>".into(),
        ),
        (
            "test_connection",
            "Record<string, never>",
            ConnectionView::name(&cfg),
        ),
        (
            "credentials",
            "Record<string, never>",
            CredentialsView::name(&cfg),
        ),
        (
            "store_credentials",
            &format!("{{ input: {} }}", SecretInput::name(&cfg)),
            CredentialsView::name(&cfg),
        ),
        (
            "clear_credentials",
            "Record<string, never>",
            CredentialsView::name(&cfg),
        ),
        ("support_bundle", "Record<string, never>", "string".into()),
    ];
    for (name, args, result) in commands {
        out.push_str(&format!(
            "  {name}: {{ args: {args}; result: {result} }};\n"
        ));
    }
    out.push_str("};\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ui_bindings_match_the_rust_types() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings.ts");
        let want = super::typescript();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run `UPDATE_BINDINGS=1 cargo test --lib bindings` and commit it",
            path.display()
        );
    }
}
