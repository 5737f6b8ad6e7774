namespace CurWorkflows.Workflows;

/// <summary>Error codes of failed runs beyond the stable <c>CurErrorCodes</c>: failures that are not the customer's data or access.</summary>
public static class CollectionErrorCodes
{
    /// <summary>The run exceeded its execution timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>The integration is disabled in the database: its workflow ends (a refresh or an enable that raced a
    /// disable had started it again).</summary>
    public const string IntegrationDisabled = "integration_disabled";

    /// <summary>An unexpected failure (a bug): the message and the Temporal UI tell more.</summary>
    public const string Internal = "internal_error";
}
