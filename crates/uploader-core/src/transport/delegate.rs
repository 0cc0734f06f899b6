//! One `Transport` impl shape for every transport whose inherent methods do the work.

/// Implements [`Transport`] for a type whose inherent async methods `put`, `head`, `create`,
/// `part`, `parts`, `complete`, `uploads`, `abort` and `reach` do the work; the methods that
/// differ (`describe` and any overridden defaults) follow in the braces.
macro_rules! transport_from_inherent {
    ($ty:ty { $($rest:item)* }) => {
        impl $crate::transport::Transport for $ty {
            fn put_object(
                &self,
                object: $crate::transport::PutObject,
            ) -> $crate::transport::BoxFuture<'_, $crate::transport::TransportResult<Option<String>>> {
                Box::pin(self.put(object))
            }

            fn head_object<'a>(
                &'a self,
                key: &'a str,
            ) -> $crate::transport::BoxFuture<'a, $crate::transport::TransportResult<Option<$crate::transport::ObjectInfo>>> {
                Box::pin(self.head(key))
            }

            fn create_multipart<'a>(
                &'a self,
                key: &'a str,
                content_type: &'a str,
                sha256: &'a str,
                object_id: &'a str,
            ) -> $crate::transport::BoxFuture<'a, $crate::transport::TransportResult<String>> {
                Box::pin(self.create(key, content_type, sha256, object_id))
            }

            fn upload_part<'a>(
                &'a self,
                key: &'a str,
                upload_id: &'a str,
                part_number: u32,
                body: $crate::transport::FileRange,
                crc32c: &'a str,
            ) -> $crate::transport::BoxFuture<'a, $crate::transport::TransportResult<String>> {
                Box::pin(self.part(key, upload_id, part_number, body, crc32c))
            }

            fn list_parts<'a>(
                &'a self,
                key: &'a str,
                upload_id: &'a str,
            ) -> $crate::transport::BoxFuture<'a, $crate::transport::TransportResult<Vec<$crate::transport::ServerPart>>> {
                Box::pin(self.parts(key, upload_id))
            }

            fn complete_multipart<'a>(
                &'a self,
                key: &'a str,
                upload_id: &'a str,
                parts: Vec<$crate::transport::CompletedPart>,
            ) -> $crate::transport::BoxFuture<'a, $crate::transport::TransportResult<Option<String>>> {
                Box::pin(self.complete(key, upload_id, parts))
            }

            fn list_multipart_uploads<'a>(
                &'a self,
                key: &'a str,
            ) -> $crate::transport::BoxFuture<'a, $crate::transport::TransportResult<Vec<String>>> {
                Box::pin(self.uploads(key))
            }

            fn abort_multipart<'a>(
                &'a self,
                key: &'a str,
                upload_id: &'a str,
            ) -> $crate::transport::BoxFuture<'a, $crate::transport::TransportResult<()>> {
                Box::pin(self.abort(key, upload_id))
            }

            fn probe(&self) -> $crate::transport::BoxFuture<'_, $crate::transport::TransportResult<()>> {
                Box::pin(self.reach())
            }

            $($rest)*
        }
    };
}
pub(super) use transport_from_inherent;
