namespace CurWorkflows.Cur;

/// <summary>
/// Stable error codes shared by API responses, Temporal failure types and stored run outcomes.
/// </summary>
public static class CurErrorCodes
{
    public const string AccessDenied = "access_denied";
    public const string BucketNotFound = "bucket_not_found";
    public const string ReportNotFound = "report_not_found";
    public const string ReportMalformed = "report_malformed";
    public const string Transient = "transient";

    public static bool IsRetryable(string code) => code == Transient;
}

/// <summary>A failure with one of the stable <see cref="CurErrorCodes"/>.</summary>
public class CurException : Exception
{
    public CurException(string code, string message, Exception? innerException = null)
        : base(message, innerException) => Code = code;

    public string Code { get; }
}
