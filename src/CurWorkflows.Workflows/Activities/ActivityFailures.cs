using CurWorkflows.Cur;
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

    // The inner exception is left out: AWS SDK exceptions can carry request details we do not want in history.
    public static ApplicationFailureException ToFailure(CurException e) =>
        new(e.Message, errorType: e.Code, nonRetryable: !CurErrorCodes.IsRetryable(e.Code));
}
