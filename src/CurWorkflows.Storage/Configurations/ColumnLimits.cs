using CurWorkflows.Cur.Aggregation;

namespace CurWorkflows.Storage.Configurations;

/// <summary>Column lengths. Indexed strings need a bound on SQL Server; the values follow AWS limits.</summary>
internal static class ColumnLimits
{
    public const int Package = CurValueLimits.Package;
    public const int ProductCode = CurValueLimits.ProductCode;
    public const int ResourceId = CurValueLimits.ResourceId;
    public const int Currency = CurValueLimits.Currency;
    public const int RoleArn = 640; // Path (512) + name (64) + prefix; bounded so the unique index fits SQL Server's 1700-byte key limit.
    public const int ExternalId = 1224;
    public const int BucketName = 63;
    public const int ReportPrefix = 1024;
    public const int ReportName = 256;
    public const int TagKey = 256;
    public const int ErrorCode = 64;
    public const int ErrorMessage = 4000;
    public const int WorkflowId = 256;
    public const int AssemblyId = 128;
    public const int ETag = 128;
    public const int Name = 256;
    public const int KeyId = 64;
    public const int Precision = 28;

    // The CUR core accepts costs with up to 12 decimal places (CUR writes 10; derived columns such as a net cost
    // computed upstream can carry more), so the stored scale must hold 12 for totals to reconcile to the last digit.
    public const int Scale = 12;
}
