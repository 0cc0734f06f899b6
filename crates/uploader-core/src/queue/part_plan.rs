//! How a large object is cut into parts: S3 allows at most 10,000 parts of at least 5 MiB
//! (except the last), so the part size grows with the object.

pub const MIN_PART: u64 = 5 * 1024 * 1024;
pub const MAX_PARTS: u64 = 10_000;

/// One part: its number (from 1), where it starts in the file, and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub number: u32,
    pub offset: u64,
    pub len: u64,
}

/// The preferred part size, doubled until the object fits in 10,000 parts.
pub fn part_size(total: u64, preferred: u64) -> u64 {
    let mut size = preferred.max(MIN_PART);
    while total.div_ceil(size) > MAX_PARTS {
        size *= 2;
    }
    size
}

pub fn parts(total: u64, size: u64) -> impl Iterator<Item = Part> {
    let size = size.max(1);
    (0..total.div_ceil(size)).map(move |i| Part {
        number: i as u32 + 1,
        offset: i * size,
        len: size.min(total - i * size),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn parts_cover_the_object_exactly_once_in_order() {
        let cases = [
            (1, 8 * MIB),
            (8 * MIB, 8 * MIB),
            (8 * MIB + 1, 8 * MIB),
            (1024 * MIB, 8 * MIB),
        ];
        for (total, size) in cases {
            let plan: Vec<Part> = parts(total, size).collect();
            assert_eq!(plan.iter().map(|p| p.len).sum::<u64>(), total, "{total}");
            for (i, p) in plan.iter().enumerate() {
                assert_eq!(p.number as usize, i + 1);
                assert_eq!(p.offset, i as u64 * size);
                assert!(p.len > 0 && p.len <= size);
            }
        }
    }

    #[test]
    fn the_part_size_grows_to_stay_under_ten_thousand_parts() {
        assert_eq!(part_size(100 * MIB, 8 * MIB), 8 * MIB);
        assert_eq!(part_size(100 * MIB, 1), MIN_PART, "never under 5 MiB");
        let huge = 200 * 1024 * MIB; // 200 GiB
        let size = part_size(huge, 8 * MIB);
        assert!(huge.div_ceil(size) <= MAX_PARTS);
        assert_eq!(size, 32 * MIB);
    }
}
