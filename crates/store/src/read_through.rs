//! Strict reads of stored values: the glue that lets a wrapper type with its own `FromSql`
//! (`StoredTime`, `Spelled`, …) stand in a row struct.

/// Lets a wrapper that reads a column strictly (its `FromSql`) be a row field's
/// `deserialize_as`: Diesel's derives want `Queryable`, which Diesel implements for its own
/// types only.
macro_rules! read_through_from_sql {
    (impl<$($param:ident),*> $wrapper:ty as $sql:ty $(where $($bound:tt)+)?) => {
        impl<$($param,)* DB> diesel::deserialize::Queryable<$sql, DB> for $wrapper
        where
            DB: diesel::backend::Backend,
            Self: diesel::deserialize::FromSql<$sql, DB>,
            $($($bound)+)?
        {
            type Row = Self;

            fn build(row: Self) -> diesel::deserialize::Result<Self> {
                Ok(row)
            }
        }
    };
}
pub(crate) use read_through_from_sql;
