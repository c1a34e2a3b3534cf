//! Small shared wordings of numbers for pages (a file's size, a count).

/// A file's size as pages show it: 12 KB, 3.4 MB.
pub fn file_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / 1024.0 / 1024.0)
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// A count with thousands separators: 12,345 (a negative one with its sign).
pub fn grouped(n: i64) -> String {
    let digits = weibao_domain::money::group(n.unsigned_abs());
    if n < 0 {
        format!("-{digits}")
    } else {
        digits
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_as_kilobytes_below_a_megabyte() {
        assert_eq!(super::file_size(1), "1 KB");
        assert_eq!(super::file_size(1024), "1 KB");
        assert_eq!(super::file_size(1025), "2 KB");
        assert_eq!(super::file_size(3 * 1024 * 1024 + 400 * 1024), "3.4 MB");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(super::grouped(1234567), "1,234,567");
        assert_eq!(super::grouped(-1200), "-1,200");
        assert_eq!(super::grouped(7), "7");
    }
}
