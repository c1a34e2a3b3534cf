//! Enumerations with a stable English code (what the API and the database carry) and a
//! Chinese name (what people read), e.g. a case's state `follow_up` / 回访.

/// Declares an enum whose values serialise as their codes, with `ALL`, `code()`, `label()`
/// and `parse()` (which takes the code or the Chinese name, spaces trimmed).
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = ($code:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code, as the API and the database carry it.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese name.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The value of a code or a Chinese name.
            pub fn parse(input: &str) -> Option<$name> {
                let s = input.trim();
                $name::ALL.iter().copied().find(|v| v.code() == s || v.label() == s)
            }

            /// Every code, for error messages and API documents.
            pub fn codes() -> Vec<&'static str> {
                $name::ALL.iter().map(|v| v.code()).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}
pub(crate) use coded_enum;
