namespace CurWorkflows.Cur.Aggregation;

/// <summary>
/// The longest values an aggregate keeps, in UTF-16 code units: what AWS allows, and what every store's columns hold. A
/// longer value is a malformed report at its line and column, not a database error on every retry.
/// </summary>
public static class CurValueLimits
{
    /// <summary>AWS tag values are at most 256 characters.</summary>
    public const int Package = 256;

    public const int ProductCode = 128;

    public const int ResourceId = 2048;

    public const int Currency = 8;
}
