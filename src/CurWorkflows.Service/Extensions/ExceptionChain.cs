namespace CurWorkflows.Service.Extensions;

internal static class ExceptionChain
{
    /// <summary>The exception and its inner exceptions, outermost first.</summary>
    public static IEnumerable<Exception> Of(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}
