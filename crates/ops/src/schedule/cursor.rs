//! A civil time moved field by field, forward or backward, by the search.

use jiff::civil::{self, DateTime};

/// A civil time being moved field by field. Fields may be out of range
/// only in the year (checked against the bounds at the top of each step).
#[derive(Clone, Copy, Debug)]
pub(super) struct Cursor {
    pub y: i32,
    pub mo: i32,
    pub d: i32,
    pub h: i32,
    pub mi: i32,
    pub s: i32,
}

pub(super) fn days_in_month(y: i32, mo: i32) -> i32 {
    i32::from(civil::date(y as i16, mo as i8, 1).days_in_month())
}

impl Cursor {
    /// January 1st, 00:00:00.
    pub(super) fn first_second(y: i32) -> Cursor {
        Cursor {
            y,
            mo: 1,
            d: 1,
            h: 0,
            mi: 0,
            s: 0,
        }
    }

    /// December 31st, 23:59:59.
    pub(super) fn last_second(y: i32) -> Cursor {
        Cursor {
            y,
            mo: 12,
            d: 31,
            h: 23,
            mi: 59,
            s: 59,
        }
    }

    pub(super) fn from(dt: DateTime) -> Cursor {
        Cursor {
            y: i32::from(dt.year()),
            mo: i32::from(dt.month()),
            d: i32::from(dt.day()),
            h: i32::from(dt.hour()),
            mi: i32::from(dt.minute()),
            s: i32::from(dt.second()),
        }
    }

    pub(super) fn datetime(self) -> DateTime {
        civil::datetime(
            self.y as i16,
            self.mo as i8,
            self.d as i8,
            self.h as i8,
            self.mi as i8,
            self.s as i8,
            0,
        )
    }

    pub(super) fn set_time(&mut self, h: i32, mi: i32, s: i32) {
        (self.h, self.mi, self.s) = (h, mi, s);
    }

    // Forward: move to the first second of the next unit.
    pub(super) fn next_year(&mut self) {
        *self = Cursor::first_second(self.y + 1);
    }
    pub(super) fn next_month(&mut self) {
        if self.mo == 12 {
            return self.next_year();
        }
        (self.mo, self.d) = (self.mo + 1, 1);
        self.set_time(0, 0, 0);
    }
    pub(super) fn next_day(&mut self) {
        if self.d >= days_in_month(self.y, self.mo) {
            return self.next_month();
        }
        self.d += 1;
        self.set_time(0, 0, 0);
    }
    pub(super) fn next_hour(&mut self) {
        if self.h == 23 {
            return self.next_day();
        }
        self.set_time(self.h + 1, 0, 0);
    }
    pub(super) fn next_minute(&mut self) {
        if self.mi == 59 {
            return self.next_hour();
        }
        self.set_time(self.h, self.mi + 1, 0);
    }

    // Backward: move to the last second of the previous unit.
    pub(super) fn prev_year(&mut self) {
        *self = Cursor::last_second(self.y - 1);
    }
    pub(super) fn prev_month(&mut self) {
        if self.mo == 1 {
            return self.prev_year();
        }
        self.mo -= 1;
        self.d = days_in_month(self.y, self.mo);
        self.set_time(23, 59, 59);
    }
    pub(super) fn prev_day(&mut self) {
        if self.d == 1 {
            return self.prev_month();
        }
        self.d -= 1;
        self.set_time(23, 59, 59);
    }
    pub(super) fn prev_hour(&mut self) {
        if self.h == 0 {
            return self.prev_day();
        }
        self.set_time(self.h - 1, 59, 59);
    }
    pub(super) fn prev_minute(&mut self) {
        if self.mi == 0 {
            return self.prev_hour();
        }
        self.set_time(self.h, self.mi - 1, 59);
    }
}
