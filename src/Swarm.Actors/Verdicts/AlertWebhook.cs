using System.Net;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Swarm.Metrics;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Verdicts;

/// <summary>How the webhook is delivered to: the receiver, and how long and how often to keep trying.</summary>
public sealed record WebhookSettings(Uri Url)
{
    public int MaxQueue { get; init; } = 10_000;
    public int MaxAttempts { get; init; } = 8;
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// POSTs each alert as JSON to <c>Swarm:Alerts:Webhook</c>, one at a time and in order. A receiver that fails (5xx,
/// 408, 429, timeout, refused connection) is tried again with exponential backoff up to <see cref="WebhookSettings.MaxAttempts"/>;
/// one that refuses (any other 4xx) is not: the alert is counted and logged as refused. Verdict entities only Tell
/// it, so a slow receiver holds nothing but this queue, which drops the newest alert (counted, logged) when full.
/// </summary>
public sealed class AlertWebhook : ReceiveActor, IWithTimers
{
    private readonly WebhookSettings _settings;
    private readonly HttpClient _http;
    private readonly SwarmMetrics _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<Alert> _queue = new();
    private bool _inFlight, _waiting; // a post in flight; a retry waiting out its backoff
    private int _attempt;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(WebhookSettings settings, HttpClient http, SwarmMetrics metrics) =>
        Akka.Actor.Props.Create(() => new AlertWebhook(settings, http, metrics));

    public AlertWebhook(WebhookSettings settings, HttpClient http, SwarmMetrics metrics)
    {
        _settings = settings;
        _http = http;
        _metrics = metrics;
        Receive<Alert>(alert =>
        {
            if (_queue.Count >= _settings.MaxQueue)
            {
                _metrics.Webhook("dropped");
                _log.Warning("webhook: {0} alerts wait for {1} already; dropped {2} ({3})", _queue.Count, Target, alert.Id, alert.Text);
                return;
            }
            _queue.Enqueue(alert);
            Next();
        });
        Receive<Answered>(OnAnswer);
        Receive<Retry>(_ =>
        {
            _waiting = false;
            Next();
        });
    }

    private string Target => _settings.Url.GetLeftPart(UriPartial.Path); // no query: it may carry a secret

    private void Next()
    {
        if (_inFlight || _waiting || !_queue.TryPeek(out var alert)) return; // a new alert does not cut a backoff short
        _inFlight = true;
        _attempt++;
        var body = JsonSerializer.SerializeToUtf8Bytes(alert, SwarmJson.Wire.Alert);
        Post(body).PipeTo(Self, failure: e => new Answered(null, e is TaskCanceledException ? "timed out" : e.GetBaseException().Message));
    }

    private async Task<Answered> Post(byte[] body)
    {
        using var cts = new CancellationTokenSource(_settings.Timeout);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync(_settings.Url, content, cts.Token);
        var text = response.IsSuccessStatusCode ? "" : await response.Content.ReadAsStringAsync(cts.Token);
        return new Answered(response.StatusCode, text.Length > 200 ? text[..200] : text);
    }

    private void OnAnswer(Answered a)
    {
        _inFlight = false;
        var alert = _queue.Peek();
        var code = (int?)a.Status;
        if (code is >= 200 and < 300)
        {
            _metrics.Webhook("delivered");
            if (_attempt > 1) _log.Info("webhook: {0} took alert {1} at attempt {2}", Target, alert.Id, _attempt);
            Done();
            return;
        }
        var retryable = code is null or >= 500 or (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests;
        var why = code is null ? a.Detail : $"{code} {a.Detail}".Trim();
        if (!retryable)
        {
            _metrics.Webhook("refused");
            _log.Warning("webhook: {0} refused alert {1}: {2}; not tried again", Target, alert.Id, why);
            Done();
            return;
        }
        if (_attempt >= _settings.MaxAttempts)
        {
            _metrics.Webhook("dropped");
            _log.Error("webhook: {0} failed {1} times for alert {2} (last: {3}); dropped", Target, _attempt, alert.Id, why);
            Done();
            return;
        }
        _metrics.Webhook("retried");
        var delay = TimeSpan.FromTicks(Math.Min(_settings.MaxBackoff.Ticks, _settings.MinBackoff.Ticks << Math.Min(_attempt - 1, 20)));
        _log.Warning("webhook: {0} failed for alert {1} ({2}); attempt {3} of {4} in {5:0.0}s", Target, alert.Id, why, _attempt + 1,
            _settings.MaxAttempts, delay.TotalSeconds);
        _waiting = true;
        Timers.StartSingleTimer("retry", Retry.Instance, delay);
    }

    private void Done()
    {
        _queue.Dequeue();
        _attempt = 0;
        Next();
    }

    private sealed record Answered(HttpStatusCode? Status, string Detail);

    private sealed record Retry
    {
        public static readonly Retry Instance = new();
    }
}
