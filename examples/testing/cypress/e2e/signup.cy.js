// Cypress (checked for syntax by our tests, not run): the signup is reported
// once, with the right fields; not at all when the visitor rejects cookies.
describe('signup', () => {
  beforeEach(() => cy.task('onramp:reset'));

  it('is reported once, with the right fields', () => {
    // The marketplace's link to your landing page, then the signup.
    cy.visit('/?onramp_ref=listing');
    cy.contains('button', 'Accept').click();
    cy.contains('a', 'Start your trial').click();
    cy.get('input[name=email]').type('ada@example.com');
    cy.contains('button', 'Sign up').click();
    cy.contains('button', 'Accept').click();
    cy.task('onramp:waitForTracking', { customerId: 'acct-ada@example.com' }).should('include', { serviceName: 'Acme CRM' });
    // Leaving the page is when a duplicate would go: leave, wait for quiet, count.
    cy.visit('/signup');
    cy.task('onramp:settled');
    cy.task('onramp:trackings').should('have.length', 1).its('0.deliveries').should('eq', 1);
  });

  it('is not sent when the visitor rejects cookies', () => {
    cy.visit('/?onramp_ref=listing');
    cy.contains('button', 'Accept').click();
    cy.visit('/welcome?email=grace@example.com');
    cy.contains('button', 'Reject').click();
    cy.window().then((win) => new Cypress.Promise((resolve) => win.onramp('flush', (error, result) => resolve(result))));
    cy.visit('/signup');
    cy.task('onramp:settled');
    cy.task('onramp:attempts').should('have.length', 0);
  });
});
