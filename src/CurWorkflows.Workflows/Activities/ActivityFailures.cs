using CurWorkflows.Cur;
using Temporalio.Api.Enums.V1;
using Temporalio.Exceptions;

namespace CurWorkflows.Workflows.Activities;

/// <summary>Turns our coded failures into Temporal application failures whose type is the stable code.</summary>
internal static class ActivityFailures
{
    public static async Task<T> CodedAsync<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (CurException e)
        {
            throw ToFailure(e);
        }
    }

    public static async Task CodedAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (CurException e)
        {
            throw ToFailure(e);
        }
    }

    // The inner exception is left out: AWS SDK exceptions can carry request details we do not want in history. A cause
    // retrying cannot fix is the customer's (a refused role, a missing bucket or report, a malformed file): benign, so
    // the SDK logs it at debug level instead of a warning with a stack trace; the integration workflow logs the failed
    // run once, with its code and message.
    public static ApplicationFailureException ToFailure(CurException e)
    {
        var retryable = CurErrorCodes.IsRetryable(e.Code);
        return new(
            e.Message,
            errorType: e.Code,
            nonRetryable: !retryable,
            category: retryable ? ApplicationErrorCategory.Unspecified : ApplicationErrorCategory.Benign);
    }
}
