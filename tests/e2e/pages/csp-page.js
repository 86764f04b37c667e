// The page's own script under a strict CSP (no inline script but the stub).
window.results = [];
window.track = function (id) {
  return new Promise(function (resolve) {
    onramp('createSaasTracking', { serviceName: 'svc', customerId: id }, function (error, result) {
      resolve(error ? { code: error.code, message: error.message } : { status: result.status, transport: result.transport });
    });
  });
};
var queued = new URLSearchParams(location.search).get('id');
if (queued) window.first = window.track(queued);
