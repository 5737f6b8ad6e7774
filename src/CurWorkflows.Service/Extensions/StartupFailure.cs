using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Extensions;

/// <summary>
/// One line for an operator when the service cannot start or stops on a failure: the setting to fix, or the cause, in
/// place of an unhandled exception's stack trace (which the host has logged already) and an abort.
/// </summary>
public static class StartupFailure
{
    public const int ConfigurationExitCode = 2;
    public const int FailureExitCode = 1;

    // The sections whose checks at start throw InvalidOperationException naming the setting first.
    private static readonly string[] SettingPrefixes = ["ConnectionStrings:", "Collection:", "Temporal:"];

    /// <param name="Recognized">False for a failure described by its exception chain alone.</param>
    public sealed record Description(string Message, int ExitCode, bool Recognized = true);

    /// <summary>The failure of a start; with <paramref name="services"/>, a background service's failure that stopped
    /// the start (the exception is then the cancellation it caused) comes first.</summary>
    public static Description? Describe(Exception exception, IServiceProvider? services = null)
    {
        if (services is not null && FailedBackgroundService(services) is { } failed)
        {
            return new(failed, FailureExitCode);
        }

        if (exception is OperationCanceledException)
        {
            return null;
        }

        if (Find<OptionsValidationException>(exception) is { } invalid)
        {
            return new($"The configuration was refused: {string.Join(" ", invalid.Failures)}", ConfigurationExitCode);
        }

        // The configuration binder's words name the key and the value ("Failed to convert configuration value 'Oracle' at
        // 'Storage:Provider' to type ...").
        if (exception is InvalidOperationException && exception.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
        {
            return new($"The configuration was refused: {exception.Message}", ConfigurationExitCode);
        }

        // Our own refusals name the setting first ("Collection:SpoolDirectory /x cannot be used: ...").
        if (exception is InvalidOperationException && SettingPrefixes.Any(p => exception.Message.StartsWith(p, StringComparison.Ordinal)))
        {
            return new($"The configuration was refused: {exception.Message}", ConfigurationExitCode);
        }

        if (Find<System.Data.Common.DbException>(exception) is { } database)
        {
            return new($"The database did not answer or refused the connection (ConnectionStrings:CurWorkflows, Storage:Provider): " +
                FirstLine(database.Message), FailureExitCode);
        }

        if (ExceptionChain.Of(exception).Any(e => e.Message.StartsWith("Connection failed", StringComparison.Ordinal)))
        {
            return new("The Temporal server at Temporal:Address did not answer (is it running, and is the address right?): " +
                string.Join(" <- ", ExceptionChain.Of(exception).Select(e => FirstLine(e.Message)).Distinct()), FailureExitCode);
        }

        return new($"CurWorkflows stopped: {string.Join(" <- ", ExceptionChain.Of(exception).Select(e => $"{e.GetType().Name}: {FirstLine(e.Message)}"))}",
            FailureExitCode, Recognized: false);
    }

    /// <summary>The first background service (a worker, the demo, a sweeper) whose work ended with an exception.</summary>
    public static string? FailedBackgroundService(IServiceProvider services)
    {
        IEnumerable<IHostedService> hosted;
        try
        {
            hosted = services.GetServices<IHostedService>().ToList();
        }
        catch (Exception e) when (e is InvalidOperationException or OptionsValidationException)
        {
            // The services could not even be built (the configuration): nothing ran.
            return null;
        }

        foreach (var service in hosted.OfType<BackgroundService>())
        {
            if (service.ExecuteTask is { IsFaulted: true, Exception: { } failure })
            {
                var cause = failure.InnerExceptions.Count == 1 ? failure.InnerExceptions[0] : failure;
                return $"CurWorkflows stopped because {service.GetType().Name} failed: " +
                    (Describe(cause) is { Recognized: true } described ? described.Message : FirstLine(cause.Message));
            }
        }

        return null;
    }

    private static T? Find<T>(Exception exception)
        where T : Exception => ExceptionChain.Of(exception).OfType<T>().FirstOrDefault();

    private static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd();
}
