namespace CurWorkflows.Workflows;

/// <summary>Error codes of failed runs beyond the stable <c>CurErrorCodes</c>: failures that are not the customer's data or access.</summary>
public static class CollectionErrorCodes
{
    /// <summary>The run exceeded its execution timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>An unexpected failure (a bug): the message and the Temporal UI tell more.</summary>
    public const string Internal = "internal_error";
}
