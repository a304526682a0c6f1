//! The kernel's list format for CPUs and NUMA nodes (`0-3,8,10-11`, see cpuset(7)),
//! as `/sys` prints it and as the runtime spec takes it.

/// The numbers `text` names, in order. A part that is not a number or a rising
/// range, or names a number of `limit` or more, is an error naming it (checked before
/// a range is expanded: `0-4294967295` must not allocate for every number).
pub fn parse_below(text: &str, limit: u32) -> Result<Vec<u32>, String> {
    let mut numbers = Vec::new();
    for part in text.trim().split(',') {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        match (low.parse::<u32>(), high.parse::<u32>()) {
            (Ok(_), Ok(high)) if high >= limit => {
                return Err(format!(
                    "{part:?} names {high}, past the last one ({})",
                    limit - 1
                ))
            }
            (Ok(low), Ok(high)) if low <= high => numbers.extend(low..=high),
            _ => return Err(format!("{part:?} is not a number or a range low-high")),
        }
    }
    Ok(numbers)
}

/// A list the kernel printed (CPUs, nodes): bounded by the largest CPU set.
pub fn parse(text: &str) -> Result<Vec<u32>, String> {
    parse_below(text, 1 << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_name_every_number_of_their_ranges() {
        assert_eq!(parse("0-3,8,10-11\n"), Ok(vec![0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(parse("0"), Ok(vec![0]));
    }

    #[test]
    fn what_is_not_a_list_is_an_error_naming_the_part() {
        assert!(parse("3-1").unwrap_err().contains("\"3-1\""));
        assert!(parse("0,x").unwrap_err().contains("\"x\""));
        assert!(parse("").is_err());
    }

    #[test]
    fn a_range_past_the_limit_is_refused_before_it_is_expanded() {
        let why = parse_below("0-4294967295", 1024).unwrap_err();
        assert!(why.contains("past the last one (1023)"), "{why}");
        assert_eq!(parse_below("1023", 1024), Ok(vec![1023]));
    }
}
